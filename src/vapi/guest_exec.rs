//! Owns the JSON shapes of the guest processes and environment operations: their request
//! bodies (and JSON-RPC inputs) and how process information is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use super::dto::{self, CredentialsDto};
use crate::model::process::{ProcessInfo, StartSpec};

/// `Processes.create` body: `{credentials, spec}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateProcess {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// What to start.
    pub spec: CreateSpecDto,
}

/// `Processes.CreateSpec`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateSpecDto {
    /// Absolute program path.
    pub path: String,
    /// Argument text.
    #[serde(default)]
    pub arguments: Option<String>,
    /// Working directory.
    #[serde(default)]
    pub working_directory: Option<String>,
    /// The complete environment (a JSON object; JSON-RPC sends map entries).
    #[serde(default, deserialize_with = "string_map")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    /// Windows only.
    #[serde(default)]
    pub start_minimized: Option<bool>,
}

impl CreateSpecDto {
    /// The model's start specification.
    pub fn into_model(self) -> StartSpec {
        StartSpec {
            path: self.path,
            arguments: self.arguments,
            working_directory: self.working_directory,
            environment: self.environment_variables.map(|m| m.into_iter().collect()),
            start_minimized: self.start_minimized,
        }
    }
}

/// A `map<string,string>` as `/api` sends it (an object), or as an empty list (how a decoded
/// JSON-RPC map with no entries looks).
fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Map(BTreeMap<String, String>),
        Empty(Vec<Value>),
    }
    match Option::<Form>::deserialize(d)? {
        None => Ok(None),
        Some(Form::Map(m)) => Ok(Some(m)),
        Some(Form::Empty(v)) if v.is_empty() => Ok(Some(BTreeMap::new())),
        Some(Form::Empty(_)) => Err(serde::de::Error::custom(
            "environment_variables: expected a map of strings",
        )),
    }
}

/// `Environment.list` body: `{credentials, names?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListEnvironment {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// The variables to read; absent or empty reads them all.
    #[serde(default)]
    pub names: Option<Vec<String>>,
}

/// `Processes.Summary`: `{name, pid, owner, command, started}`.
pub fn process_summary(p: &ProcessInfo) -> Value {
    json!({
        "name": p.name,
        "pid": p.pid,
        "owner": p.owner,
        "command": p.command,
        "started": dto::datetime(p.started),
    })
}

/// `Processes.Info`: `{name, owner, command, started, finished?, exit_code?}`.
pub fn process_info(p: &ProcessInfo) -> Value {
    let mut v = json!({
        "name": p.name,
        "owner": p.owner,
        "command": p.command,
        "started": dto::datetime(p.started),
    });
    if let Some(f) = p.finished {
        v["finished"] = json!(dto::datetime(f));
    }
    if let Some(c) = p.exit_code {
        v["exit_code"] = json!(c);
    }
    v
}

/// The `Environment.list` result: a JSON object from name to value.
pub fn environment(vars: &[(String, String)]) -> Value {
    Value::Object(
        vars.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_read_as_an_object_or_an_empty_entry_list() {
        let parse = |v: Value| {
            serde_json::from_value::<CreateSpecDto>(v).map(|s| s.into_model().environment)
        };
        assert_eq!(
            parse(json!({"path": "/x", "environment_variables": {"A": "1"}})).unwrap(),
            Some(vec![("A".into(), "1".into())])
        );
        assert_eq!(
            parse(json!({"path": "/x", "environment_variables": []})).unwrap(),
            Some(vec![])
        );
        assert_eq!(parse(json!({"path": "/x"})).unwrap(), None);
        assert!(parse(json!({"path": "/x", "environment_variables": [1]})).is_err());
        assert!(parse(json!({"path": "/x", "environment_variables": {"A": 1}})).is_err());
    }

    #[test]
    fn finished_and_exit_code_appear_only_once_set() {
        let t = crate::clock::DEFAULT_MANUAL_START;
        let mut p = ProcessInfo {
            pid: 7,
            name: "bash".into(),
            owner: "root".into(),
            command: "\"/bin/bash\"".into(),
            started: t,
            finished: None,
            exit_code: None,
        };
        assert_eq!(process_info(&p).get("finished"), None);
        p.finished = Some(t);
        p.exit_code = Some(3);
        assert_eq!(process_info(&p)["exit_code"], 3);
        assert_eq!(process_summary(&p)["pid"], 7);
        assert_eq!(process_summary(&p).get("exit_code"), None);
    }
}
