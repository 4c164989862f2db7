//! Owns the `cmd.exe` grammar: `%VAR%` expansion of a whole line, then `&`, `&&`, `||`,
//! `^` escapes, double quotes and the redirections `>`, `>>`, `<`, `n>` and `n>&m`.
//!
//! As in `cmd.exe`, a command keeps its argument text raw (quotes included): `echo "a"` prints
//! the quotes. Blocks `( ... )`, pipelines, `if`, `for` and `goto` are refused by name.

use super::env::Env;
use super::syntax::{AndOr, Command, Connector, Line, Redir, RedirOp, SyntaxError, Word};

/// The message `cmd.exe` prints for a malformed line.
pub const SYNTAX_INCORRECT: &str = "The syntax of the command is incorrect.";

/// Expands `%NAME%` in `line` from `env`, plus `%ERRORLEVEL%` and `%CD%` when they are not
/// set as variables. Undefined names stay as written, as on the `cmd.exe` command line.
/// In a batch file (`params` given), `%0`-`%9` and `%*` are its parameters and `%%` is `%`.
/// Returns `None` if the result would exceed `max` bytes.
pub fn expand(
    line: &str,
    env: &Env,
    status: i32,
    cwd: &str,
    params: Option<&[String]>,
    max: usize,
) -> Option<String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(params) = params {
            let next = after.chars().next();
            match next {
                Some('%') => {
                    out.push('%');
                    rest = &after[1..];
                    continue;
                }
                Some('*') => {
                    out.push_str(&params.get(1..).unwrap_or(&[]).join(" "));
                    rest = &after[1..];
                    if out.len() > max {
                        return None;
                    }
                    continue;
                }
                Some(d) if d.is_ascii_digit() => {
                    let i = usize::from(d as u8 - b'0');
                    out.push_str(params.get(i).map_or("", String::as_str));
                    rest = &after[1..];
                    if out.len() > max {
                        return None;
                    }
                    continue;
                }
                _ => {}
            }
        }
        match after.find('%') {
            Some(end) if end > 0 && !after[..end].contains([' ', ':', '\t']) => {
                let name = &after[..end];
                let value = env.get(name).map(str::to_owned).or_else(|| {
                    if name.eq_ignore_ascii_case("ERRORLEVEL") {
                        Some(status.to_string())
                    } else if name.eq_ignore_ascii_case("CD") {
                        Some(cwd.to_owned())
                    } else {
                        None
                    }
                });
                match value {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('%');
                        out.push_str(name);
                        out.push('%');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('%');
                rest = after;
            }
        }
        if out.len() > max {
            return None;
        }
    }
    out.push_str(rest);
    (out.len() <= max).then_some(out)
}

fn err<T>(msg: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError(msg.into()))
}

/// Words `cmd.exe` treats as grammar; this shell refuses them by name.
const RESERVED: [&str; 4] = ["if", "for", "goto", "call"];

/// Parses one expanded line into and-or lists.
pub fn parse_line(line: &str) -> Result<Line, SyntaxError> {
    let trimmed = line.trim_start_matches([' ', '\t', '@']);
    if trimmed.starts_with(':') || is_rem(trimmed) {
        return Ok(Vec::new());
    }
    let mut items: Line = Vec::new();
    let mut current: Option<AndOr> = None;
    let mut pending: Option<Connector> = None;
    let mut text = String::new();
    let mut redirs: Vec<Redir> = Vec::new();
    let mut in_quote = false;
    // Whether the last character of `text` came from a `^` escape (so it is never a handle).
    let mut escaped_last = false;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;

    // Ends the command being read and attaches it with `connector`.
    let finish = |text: &mut String,
                  redirs: &mut Vec<Redir>,
                  current: &mut Option<AndOr>,
                  pending: &mut Option<Connector>|
     -> Result<(), SyntaxError> {
        let cmd = command(std::mem::take(text), std::mem::take(redirs))?;
        match (current.as_mut(), pending.take(), cmd) {
            (None, _, Some(cmd)) => {
                *current = Some(AndOr {
                    first: cmd,
                    rest: Vec::new(),
                })
            }
            (Some(list), Some(conn), Some(cmd)) => list.rest.push((conn, cmd)),
            // A command always starts a list or follows a connector; anything else is refused.
            (Some(_), None, Some(_)) | (_, Some(_), None) => return err(SYNTAX_INCORRECT),
            (_, None, None) => {}
        }
        Ok(())
    };

    while i < chars.len() {
        let c = chars[i];
        if in_quote {
            text.push(c);
            escaped_last = false;
            if c == '"' {
                in_quote = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => {
                in_quote = true;
                text.push(c);
                escaped_last = false;
                i += 1;
            }
            '^' => {
                if let Some(&n) = chars.get(i + 1) {
                    text.push(n);
                    escaped_last = true;
                }
                i += 2;
            }
            '&' | '|' => {
                let double = chars.get(i + 1) == Some(&c);
                if c == '|' && !double {
                    return err("pipelines (`|') are not supported");
                }
                finish(&mut text, &mut redirs, &mut current, &mut pending)?;
                if current.is_none() {
                    return err(SYNTAX_INCORRECT);
                }
                if double {
                    pending = Some(if c == '&' {
                        Connector::And
                    } else {
                        Connector::Or
                    });
                    i += 2;
                } else {
                    items.extend(current.take());
                    i += 1;
                }
                escaped_last = false;
            }
            '(' if text.trim().is_empty() => return err("blocks (`(') are not supported"),
            '<' | '>' => {
                let mut fd = if c == '<' { 0 } else { 1 };
                if !escaped_last {
                    if let Some(d) = text.chars().last().and_then(|d| d.to_digit(10)) {
                        fd = d;
                        text.pop();
                    }
                }
                i += 1;
                let op = if c == '>' && chars.get(i) == Some(&'>') {
                    i += 1;
                    RedirOp::Append
                } else if chars.get(i) == Some(&'&') {
                    i += 1;
                    match chars.get(i).and_then(|d| d.to_digit(10)) {
                        Some(n) => {
                            i += 1;
                            RedirOp::Dup(n)
                        }
                        None => return err(SYNTAX_INCORRECT),
                    }
                } else if c == '>' {
                    RedirOp::Write
                } else {
                    RedirOp::Read
                };
                let target = if let RedirOp::Dup(_) = op {
                    Word::default()
                } else {
                    while chars.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
                        i += 1;
                    }
                    let mut target = String::new();
                    let mut quoted = false;
                    while let Some(&t) = chars.get(i) {
                        if t == '"' {
                            quoted = !quoted;
                        } else if !quoted && (t.is_whitespace() || "&|<>".contains(t)) {
                            break;
                        } else {
                            target.push(t);
                        }
                        i += 1;
                    }
                    if target.is_empty() {
                        return err(SYNTAX_INCORRECT);
                    }
                    Word::text(target)
                };
                redirs.push(Redir { fd, op, target });
                escaped_last = false;
            }
            _ => {
                text.push(c);
                escaped_last = false;
                i += 1;
            }
        }
    }
    finish(&mut text, &mut redirs, &mut current, &mut pending)?;
    if pending.is_some() {
        return err(SYNTAX_INCORRECT);
    }
    items.extend(current);
    Ok(items)
}

fn is_rem(s: &str) -> bool {
    s.get(..3)
        .is_some_and(|head| head.eq_ignore_ascii_case("rem"))
        && s[3..].chars().next().is_none_or(|c| c.is_whitespace())
}

/// Builds a command from its text: the name (quotes removed) and the raw argument text.
fn command(text: String, redirs: Vec<Redir>) -> Result<Option<Command>, SyntaxError> {
    let body = text.trim_start_matches([' ', '\t', '@']);
    if body.trim().is_empty() {
        if redirs.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Command {
            redirs,
            raw_args: Some(String::new()),
            ..Command::default()
        }));
    }
    let (name, rest) = split_name(body);
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        return err(format!("`{name}' is not supported by vcmock's cmd.exe"));
    }
    Ok(Some(Command {
        assigns: Vec::new(),
        words: vec![Word::text(name)],
        raw_args: Some(rest),
        redirs,
    }))
}

/// Splits a command's text into its name and argument text, consuming the one delimiter that
/// follows the name (so `echo.` has the name `echo` and no text, and `echo  a` keeps ` a`).
pub fn split_name(body: &str) -> (String, String) {
    if let Some(stripped) = body.strip_prefix('"') {
        let end = stripped.find('"').unwrap_or(stripped.len());
        let name = stripped[..end].to_owned();
        let after = stripped.get(end + 1..).unwrap_or("");
        let rest = after.strip_prefix([' ', '\t']).unwrap_or(after).to_owned();
        return (name, rest);
    }
    let lower = body.to_ascii_lowercase();
    if lower.starts_with("echo") {
        match body[4..].chars().next() {
            None => return ("echo".into(), String::new()),
            Some(d) if d.is_whitespace() || ".:/\\([]+=,;".contains(d) => {
                let skip = 4 + d.len_utf8();
                let name = if d.is_whitespace() { "echo" } else { "echo." };
                return (name.into(), body[skip..].to_owned());
            }
            Some(_) => {}
        }
    }
    let end = body
        .find(|c: char| c.is_whitespace() || "=,;".contains(c))
        .unwrap_or(body.len());
    let name = body[..end].to_owned();
    let rest = match body[end..].chars().next() {
        Some(d) => body[end + d.len_utf8()..].to_owned(),
        None => String::new(),
    };
    (name, rest)
}

/// Splits argument text into arguments as `cmd.exe`'s built-ins do: on blanks outside double
/// quotes, with the quotes removed.
pub fn split_args(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in raw.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if !quoted && (c.is_whitespace() || c == ',' || c == ';') => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(c: &Command) -> String {
        match c.words.first().and_then(|w| w.0.first()) {
            Some(super::super::syntax::Seg::Quoted(s)) => s.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn percent_variables_expand_case_insensitively_and_undefined_ones_stay() {
        let env = Env::from_pairs(true, [("Temp", "C:\\T"), ("X", "1")]);
        let table = [
            ("echo %TEMP%\\a", "echo C:\\T\\a"),
            ("echo %x%%x%", "echo 11"),
            ("echo %NOPE% %", "echo %NOPE% %"),
            ("echo %ERRORLEVEL% %cd%", "echo 3 C:\\W"),
            ("echo 100%", "echo 100%"),
        ];
        for (line, want) in table {
            assert_eq!(
                expand(line, &env, 3, "C:\\W", None, 1 << 20).as_deref(),
                Some(want)
            );
        }
        assert_eq!(expand("%X%%X%%X%", &env, 0, "", None, 2), None, "bounded");
        let params: Vec<String> = ["s.bat", "a", "b"].map(String::from).to_vec();
        assert_eq!(
            expand("%0 %1 %2 %3 %* 100%%", &env, 0, "", Some(&params), 1 << 20).as_deref(),
            Some("s.bat a b  a b 100%")
        );
    }

    #[test]
    fn ampersands_separate_and_connect_commands() {
        let line = parse_line("echo a & echo b && type x || del y").unwrap();
        assert_eq!(line.len(), 2);
        assert_eq!(name(&line[0].first), "echo");
        assert_eq!(line[0].first.raw_args.as_deref(), Some("a "));
        let conns: Vec<Connector> = line[1].rest.iter().map(|(c, _)| *c).collect();
        assert_eq!(conns, vec![Connector::And, Connector::Or]);
    }

    #[test]
    fn redirections_leave_the_argument_text_and_take_handles() {
        let line = parse_line("echo hi> C:\\a.txt 2>>\"C:\\b c.txt\" 2>&1 <in").unwrap();
        let cmd = &line[0].first;
        assert_eq!(
            cmd.raw_args.as_deref(),
            Some("hi   "),
            "blanks stay, as cmd.exe keeps them"
        );
        let ops: Vec<(u32, RedirOp)> = cmd.redirs.iter().map(|r| (r.fd, r.op)).collect();
        assert_eq!(
            ops,
            vec![
                (1, RedirOp::Write),
                (2, RedirOp::Append),
                (2, RedirOp::Dup(1)),
                (0, RedirOp::Read)
            ]
        );
        assert_eq!(cmd.redirs[1].target, Word::text("C:\\b c.txt"));
        let escaped = parse_line("echo a^&b^>c").unwrap();
        assert_eq!(escaped[0].first.raw_args.as_deref(), Some("a&b>c"));
    }

    #[test]
    fn echo_takes_its_delimiter_and_names_split_at_blanks_or_quotes() {
        assert_eq!(split_name("echo."), ("echo.".into(), String::new()));
        assert_eq!(split_name("echo  a"), ("echo".into(), " a".into()));
        assert_eq!(split_name("echo"), ("echo".into(), String::new()));
        assert_eq!(
            split_name("\"C:\\Program Files\\x.exe\" /q"),
            ("C:\\Program Files\\x.exe".into(), "/q".into())
        );
        assert_eq!(split_name("set X=1"), ("set".into(), "X=1".into()));
        assert_eq!(split_args(" a \"b c\"  d"), vec!["a", "b c", "d"]);
    }

    #[test]
    fn comments_labels_and_unsupported_forms() {
        assert!(parse_line("rem anything & echo x").unwrap().is_empty());
        assert!(parse_line(":label").unwrap().is_empty());
        assert!(parse_line("   ").unwrap().is_empty());
        for bad in [
            "a | b",
            "(echo a)",
            "if 1==1 echo",
            "echo a &&",
            "&& echo",
            "echo >",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}
