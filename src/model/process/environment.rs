//! Owns guest environments: the variables a guest user's processes start with, by guest
//! family, and what `Environment.list` and `Environment.get` read from them.

use crate::model::guest_fs::{Family, GuestUser};
use crate::model::shell::Env;
use crate::model::shell::guestio::home_dir;

/// The Windows temporary directory of `user` (`%TEMP%`).
pub fn windows_temp(user: &GuestUser) -> String {
    user.temp_dir
        .clone()
        .unwrap_or_else(|| format!("C:\\Users\\{}\\AppData\\Local\\Temp", user.name))
}

/// The environment `user`'s processes start with on a guest of `family` called `host_name`:
/// the family's defaults, then `overrides` in order (a fixture's per-VM variables).
pub fn default_environment(
    family: Family,
    user: &GuestUser,
    host_name: &str,
    overrides: &[(String, String)],
) -> Env {
    let home = home_dir(family, user);
    let mut env = match family {
        Family::Linux => Env::from_pairs(
            false,
            [
                (
                    "PATH",
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
                ),
                ("HOME", home),
                ("USER", user.name.clone()),
                ("LOGNAME", user.name.clone()),
                ("SHELL", "/bin/bash".to_owned()),
                ("LANG", "C.UTF-8".to_owned()),
            ],
        ),
        Family::Windows => {
            let temp = windows_temp(user);
            let computer = host_name.to_uppercase();
            let profile = home.clone();
            Env::from_pairs(
                true,
                [
                    ("ALLUSERSPROFILE", "C:\\ProgramData".to_owned()),
                    ("APPDATA", format!("{profile}\\AppData\\Roaming")),
                    ("COMPUTERNAME", computer.clone()),
                    ("ComSpec", "C:\\Windows\\system32\\cmd.exe".to_owned()),
                    ("HOMEDRIVE", "C:".to_owned()),
                    ("HOMEPATH", format!("\\Users\\{}", user.name)),
                    ("LOCALAPPDATA", format!("{profile}\\AppData\\Local")),
                    ("OS", "Windows_NT".to_owned()),
                    (
                        "Path",
                        "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem".to_owned(),
                    ),
                    ("PATHEXT", ".COM;.EXE;.BAT;.CMD".to_owned()),
                    ("PROCESSOR_ARCHITECTURE", "AMD64".to_owned()),
                    ("ProgramData", "C:\\ProgramData".to_owned()),
                    ("ProgramFiles", "C:\\Program Files".to_owned()),
                    ("PUBLIC", "C:\\Users\\Public".to_owned()),
                    ("SystemDrive", "C:".to_owned()),
                    ("SystemRoot", "C:\\Windows".to_owned()),
                    ("TEMP", temp.clone()),
                    ("TMP", temp),
                    ("USERDOMAIN", computer),
                    ("USERNAME", user.name.clone()),
                    ("USERPROFILE", profile),
                    ("windir", "C:\\Windows".to_owned()),
                ],
            )
        }
    };
    for (k, v) in overrides {
        env.set(k.clone(), v.clone());
    }
    env
}

/// `Environment.list`: every variable when `names` is empty, otherwise those of `names` that
/// are set (names compare as the guest compares them). Sorted by name.
pub fn select(env: &Env, names: &[String]) -> Vec<(String, String)> {
    env.sorted()
        .into_iter()
        .filter(|(k, _)| {
            names.is_empty()
                || names.iter().any(|n| {
                    if env.folds_case() {
                        n.eq_ignore_ascii_case(k)
                    } else {
                        n == k
                    }
                })
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, uid: u32) -> GuestUser {
        GuestUser::plain(name, uid)
    }

    #[test]
    fn each_family_has_its_defaults_for_the_user() {
        let table = [
            (Family::Linux, user("root", 0), "HOME", "/root"),
            (Family::Linux, user("alice", 1000), "HOME", "/home/alice"),
            (Family::Linux, user("alice", 1000), "USER", "alice"),
            (
                Family::Windows,
                user("bob", 1001),
                "USERPROFILE",
                "C:\\Users\\bob",
            ),
            (
                Family::Windows,
                user("bob", 1001),
                "temp",
                "C:\\Users\\bob\\AppData\\Local\\Temp",
            ),
            (Family::Windows, user("bob", 1001), "COMPUTERNAME", "WIN-01"),
        ];
        for (family, u, name, want) in table {
            let env = default_environment(family, &u, "win-01", &[]);
            assert_eq!(env.get(name), Some(want), "{family:?} {name}");
        }
    }

    #[test]
    fn overrides_replace_and_add_variables() {
        let env = default_environment(
            Family::Linux,
            &user("alice", 1000),
            "h",
            &[
                ("LANG".into(), "de_DE.UTF-8".into()),
                ("APP_ENV".into(), "test".into()),
            ],
        );
        assert_eq!(env.get("LANG"), Some("de_DE.UTF-8"));
        assert_eq!(env.get("APP_ENV"), Some("test"));
    }

    #[test]
    fn selection_by_names_keeps_only_set_variables_compared_as_the_guest_does() {
        let linux = Env::from_pairs(false, [("A", "1"), ("B", "2")]);
        assert_eq!(
            select(&linux, &["B".into(), "C".into(), "a".into()]),
            vec![("B".into(), "2".into())]
        );
        assert_eq!(select(&linux, &[]).len(), 2);
        let windows = Env::from_pairs(true, [("Path", "x")]);
        assert_eq!(
            select(&windows, &["PATH".into()]),
            vec![("Path".into(), "x".into())]
        );
    }
}
