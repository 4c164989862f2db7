//! Owns a process environment: ordered variables, compared as the guest family compares them.

/// A process environment: `NAME=value` pairs in the order they were first set.
///
/// On Linux names are case-sensitive; on Windows they compare case-insensitively and keep the
/// spelling they were first set with, as `cmd.exe` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Vec<(String, String)>,
    fold_case: bool,
}

impl Env {
    /// An empty environment; `fold_case` for Windows.
    pub fn new(fold_case: bool) -> Self {
        Self {
            vars: Vec::new(),
            fold_case,
        }
    }

    /// An environment holding `pairs`, later duplicates replacing earlier ones.
    pub fn from_pairs<K, V>(fold_case: bool, pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut env = Self::new(fold_case);
        for (k, v) in pairs {
            env.set(k.into(), v.into());
        }
        env
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.vars.iter().position(|(k, _)| {
            if self.fold_case {
                k.eq_ignore_ascii_case(name)
            } else {
                k == name
            }
        })
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.vars[i].1.as_str())
    }

    /// Sets `name` to `value`, keeping the variable's place if it was already set.
    pub fn set(&mut self, name: String, value: String) {
        match self.position(&name) {
            Some(i) => self.vars[i].1 = value,
            None => self.vars.push((name, value)),
        }
    }

    /// Removes `name`; returns whether it was set.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.position(name) {
            Some(i) => {
                self.vars.remove(i);
                true
            }
            None => false,
        }
    }

    /// The variables in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The variables sorted by name as the guest sorts them (`set` on Windows).
    pub fn sorted(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self.iter().collect();
        if self.fold_case {
            out.sort_by_key(|(k, _)| k.to_ascii_lowercase());
        } else {
            out.sort();
        }
        out
    }

    /// How many variables are set.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether no variable is set.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Whether names compare case-insensitively (Windows).
    pub fn folds_case(&self) -> bool {
        self.fold_case
    }

    /// Bytes held by names and values, for bounding.
    pub fn bytes(&self) -> usize {
        self.vars.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_names_are_case_sensitive_and_windows_names_are_not() {
        let mut linux = Env::from_pairs(false, [("Path", "a")]);
        linux.set("PATH".into(), "b".into());
        assert_eq!(
            (linux.get("Path"), linux.get("PATH")),
            (Some("a"), Some("b"))
        );

        let mut windows = Env::from_pairs(true, [("Path", "a")]);
        windows.set("PATH".into(), "b".into());
        assert_eq!(windows.len(), 1);
        assert_eq!(
            windows.iter().next(),
            Some(("Path", "b")),
            "first spelling kept"
        );
        assert!(windows.remove("path"));
        assert!(windows.is_empty());
    }

    #[test]
    fn variables_keep_the_order_they_were_first_set_in_and_sort_on_demand() {
        let mut env = Env::from_pairs(false, [("B", "1"), ("A", "2")]);
        env.set("B".into(), "3".into());
        let order: Vec<_> = env.iter().collect();
        assert_eq!(order, vec![("B", "3"), ("A", "2")]);
        assert_eq!(env.sorted(), vec![("A", "2"), ("B", "3")]);
    }
}
