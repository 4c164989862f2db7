//! Owns the `/bin/sh` grammar: one complete line at a time into and-or lists of simple
//! commands, with quoting, parameter expansion words and redirections.
//!
//! The grammar is deliberately small (see the README): `;` and newlines separate and-or lists,
//! `&&` and `||` join commands, words take single quotes, double quotes and backslashes,
//! `$NAME`, `${NAME}` and `$? $$ $# $@ $* $0-$9` expand, and `n>`, `n>>`, `n<`, `n>&m`, `&>`
//! redirect. Everything else a real shell knows (pipelines, `&`, subshells, `$(...)`, control
//! flow keywords, here-documents) is a syntax error that names the construct.

use super::syntax::{
    AndOr, Command, Connector, Line, Param, Redir, RedirOp, Seg, SyntaxError, Word,
};

/// Words a real shell treats as grammar; this shell refuses them by name.
const RESERVED: [&str; 18] = [
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "function", "select", "{", "}", "[[", "!",
];

/// Parses the next complete line of `src` from `*pos`, skipping blank and comment lines.
/// Returns `None` at the end of the input and moves `*pos` past what was read.
pub fn parse_line(src: &str, pos: &mut usize) -> Result<Option<Line>, SyntaxError> {
    let mut p = Parser { s: src, i: *pos };
    let result = p.line();
    *pos = p.i;
    result
}

/// Parses a whole script.
#[cfg(test)]
pub fn parse_all(src: &str) -> Result<Vec<Line>, SyntaxError> {
    let mut pos = 0;
    let mut out = Vec::new();
    while let Some(line) = parse_line(src, &mut pos)? {
        out.push(line);
    }
    Ok(out)
}

fn err<T>(msg: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError(msg.into()))
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `s` is a valid variable name.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.rest().chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn starts(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    /// Skips spaces, tabs and backslash-newline continuations.
    fn blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r') => {
                    self.bump();
                }
                Some('\\') if self.peek2() == Some('\n') => {
                    self.i += 2;
                }
                _ => return,
            }
        }
    }

    fn comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                return;
            }
            self.bump();
        }
    }

    /// Skips blanks, comments and newlines (allowed after `&&` and `||`).
    fn linebreaks(&mut self) {
        loop {
            self.blanks();
            match self.peek() {
                Some('#') => self.comment(),
                Some('\n') => {
                    self.bump();
                }
                _ => return,
            }
        }
    }

    fn line(&mut self) -> Result<Option<Line>, SyntaxError> {
        let mut items: Line = Vec::new();
        loop {
            self.blanks();
            match self.peek() {
                None => break,
                Some('#') => self.comment(),
                Some('\n') => {
                    self.bump();
                    if !items.is_empty() {
                        break;
                    }
                }
                Some(';') => {
                    let what = if self.starts(";;") { ";;" } else { ";" };
                    return err(format!("syntax error near unexpected token `{what}'"));
                }
                Some(_) => {
                    items.push(self.and_or()?);
                    self.blanks();
                    match self.peek() {
                        Some(';') if !self.starts(";;") => {
                            self.bump();
                        }
                        None | Some('\n' | '#') => {}
                        Some(c) => return err(format!("syntax error near unexpected token `{c}'")),
                    }
                }
            }
        }
        Ok((!items.is_empty()).then_some(items))
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.required_command()?;
        let mut rest = Vec::new();
        loop {
            self.blanks();
            let connector = if self.starts("&&") {
                Connector::And
            } else if self.starts("||") {
                Connector::Or
            } else {
                break;
            };
            self.i += 2;
            self.linebreaks();
            if self.peek().is_none() {
                return err("syntax error: unexpected end of file");
            }
            rest.push((connector, self.required_command()?));
        }
        Ok(AndOr { first, rest })
    }

    fn required_command(&mut self) -> Result<Command, SyntaxError> {
        let cmd = self.command()?;
        if cmd.words.is_empty() && cmd.assigns.is_empty() && cmd.redirs.is_empty() {
            let near = match self.peek() {
                None | Some('\n') => "newline".to_owned(),
                Some(_) if self.starts("&&") => "&&".to_owned(),
                Some(_) if self.starts("||") => "||".to_owned(),
                Some(c) => c.to_string(),
            };
            return err(format!("syntax error near unexpected token `{near}'"));
        }
        Ok(cmd)
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let mut cmd = Command::default();
        loop {
            self.blanks();
            let Some(c) = self.peek() else { break };
            match c {
                '\n' | ';' | '#' => break,
                '&' if self.starts("&&") => break,
                '|' if self.starts("||") => break,
                '&' if self.peek2() == Some('>') => {
                    self.i += 2;
                    let op = if self.peek() == Some('>') {
                        self.bump();
                        RedirOp::BothAppend
                    } else {
                        RedirOp::Both
                    };
                    let target = self.redir_target()?;
                    cmd.redirs.push(Redir { fd: 1, op, target });
                }
                '&' => return err("background jobs (`&') are not supported"),
                '|' => return err("pipelines (`|') are not supported"),
                '(' | ')' => return err(format!("subshells and groups (`{c}') are not supported")),
                '<' | '>' => cmd.redirs.push(self.redirection(None)?),
                '0'..='9' if self.io_number().is_some() => {
                    let (fd, len) = self.io_number().expect("checked");
                    self.i += len;
                    cmd.redirs.push(self.redirection(Some(fd))?);
                }
                _ => {
                    let word = self.word()?;
                    if cmd.words.is_empty() {
                        if let Some((name, value)) = split_assignment(&word) {
                            cmd.assigns.push((name, value));
                            continue;
                        }
                        if let [Seg::Lit(s)] = word.0.as_slice() {
                            if RESERVED.contains(&s.as_str()) {
                                return err(format!("`{s}' is not supported by vcmock's shell"));
                            }
                        }
                    }
                    cmd.words.push(word);
                }
            }
        }
        Ok(cmd)
    }

    /// Digits directly followed by `<` or `>`: an explicit descriptor number and its length.
    fn io_number(&self) -> Option<(u32, usize)> {
        let digits: usize = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        match self.rest().as_bytes().get(digits) {
            Some(b'<' | b'>') => {
                let n = self.rest()[..digits].parse::<u32>().unwrap_or(u32::MAX);
                Some((n, digits))
            }
            _ => None,
        }
    }

    fn redirection(&mut self, fd: Option<u32>) -> Result<Redir, SyntaxError> {
        let (default_fd, op, len) = if self.starts(">>") {
            (1, RedirOp::Append, 2)
        } else if self.starts(">&") {
            (1, RedirOp::Dup(0), 2)
        } else if self.starts(">|") {
            (1, RedirOp::Write, 2)
        } else if self.starts(">") {
            (1, RedirOp::Write, 1)
        } else if self.starts("<<") {
            return err("here-documents (`<<') are not supported");
        } else if self.starts("<>") {
            return err("read-write redirections (`<>') are not supported");
        } else if self.starts("<&") {
            (0, RedirOp::Dup(0), 2)
        } else {
            (0, RedirOp::Read, 1)
        };
        self.i += len;
        let target = self.redir_target()?;
        let fd_given = fd.is_some();
        let fd = fd.unwrap_or(default_fd);
        if let RedirOp::Dup(_) = op {
            return match target.0.as_slice() {
                [Seg::Lit(n)] if n == "-" => Ok(Redir {
                    fd,
                    op: RedirOp::Dup(u32::MAX),
                    target: Word::default(),
                }),
                [Seg::Lit(n)] if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Redir {
                        fd,
                        op: RedirOp::Dup(n.parse().unwrap_or(u32::MAX)),
                        target: Word::default(),
                    })
                }
                _ if !fd_given && default_fd == 1 => Ok(Redir {
                    fd: 1,
                    op: RedirOp::Both,
                    target,
                }),
                _ => err("ambiguous redirect"),
            };
        }
        Ok(Redir { fd, op, target })
    }

    fn redir_target(&mut self) -> Result<Word, SyntaxError> {
        self.blanks();
        match self.peek() {
            None | Some('\n') => err("syntax error near unexpected token `newline'"),
            Some(c @ (';' | '&' | '|' | '<' | '>' | '(' | ')')) => {
                err(format!("syntax error near unexpected token `{c}'"))
            }
            Some(_) => self.word(),
        }
    }

    fn word(&mut self) -> Result<Word, SyntaxError> {
        let mut segs: Vec<Seg> = Vec::new();
        let push_lit = |segs: &mut Vec<Seg>, c: char| match segs.last_mut() {
            Some(Seg::Lit(s)) => s.push(c),
            _ => segs.push(Seg::Lit(c.to_string())),
        };
        let push_quoted = |segs: &mut Vec<Seg>, s: &str| match segs.last_mut() {
            Some(Seg::Quoted(q)) => q.push_str(s),
            _ => segs.push(Seg::Quoted(s.to_owned())),
        };
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') => {}
                        Some(e) => push_quoted(&mut segs, e.encode_utf8(&mut [0; 4])),
                        None => push_lit(&mut segs, '\\'),
                    }
                }
                '\'' => {
                    self.bump();
                    let Some(end) = self.rest().find('\'') else {
                        return err("unexpected EOF while looking for matching `''");
                    };
                    let text = self.rest()[..end].to_owned();
                    self.i += end + 1;
                    // An empty '' still leaves a quoted piece, so it makes one empty field.
                    push_quoted(&mut segs, &text);
                }
                '"' => {
                    self.bump();
                    self.double_quoted(&mut segs)?;
                }
                '$' => {
                    self.bump();
                    match self.param()? {
                        Some(param) => segs.push(Seg::Param {
                            param,
                            quoted: false,
                        }),
                        None => push_lit(&mut segs, '$'),
                    }
                }
                '`' => return err("command substitution (`...`) is not supported"),
                '~' if segs.is_empty()
                    && matches!(
                        self.peek2(),
                        None | Some(
                            '/' | ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | ')'
                        )
                    ) =>
                {
                    self.bump();
                    segs.push(Seg::Tilde);
                }
                _ => {
                    self.bump();
                    push_lit(&mut segs, c);
                }
            }
        }
        Ok(Word(segs))
    }

    fn double_quoted(&mut self, segs: &mut Vec<Seg>) -> Result<(), SyntaxError> {
        // Always leave a quoted piece, so that "" is one empty field.
        let mut text = String::new();
        let flush = |segs: &mut Vec<Seg>, text: &mut String| {
            match segs.last_mut() {
                Some(Seg::Quoted(q)) => q.push_str(text),
                _ => segs.push(Seg::Quoted(std::mem::take(text))),
            }
            text.clear();
        };
        loop {
            match self.bump() {
                None => return err("unexpected EOF while looking for matching `\"'"),
                Some('"') => break,
                Some('\\') => match self.peek() {
                    Some(e @ ('$' | '`' | '"' | '\\')) => {
                        self.bump();
                        text.push(e);
                    }
                    Some('\n') => {
                        self.bump();
                    }
                    _ => text.push('\\'),
                },
                Some('$') => match self.param()? {
                    Some(param) => {
                        flush(segs, &mut text);
                        segs.push(Seg::Param {
                            param,
                            quoted: true,
                        });
                    }
                    None => text.push('$'),
                },
                Some('`') => return err("command substitution (`...`) is not supported"),
                Some(c) => text.push(c),
            }
        }
        flush(segs, &mut text);
        Ok(())
    }

    /// After a `$`: the parameter, or `None` when the `$` is literal.
    fn param(&mut self) -> Result<Option<Param>, SyntaxError> {
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let special = |c: char| match c {
            '?' => Some(Param::Status),
            '$' => Some(Param::Pid),
            '#' => Some(Param::Count),
            '@' | '*' => Some(Param::All),
            '!' | '-' => Some(Param::Named(c.to_string())),
            d if d.is_ascii_digit() => Some(Param::Positional(d as u8 - b'0')),
            _ => None,
        };
        match c {
            '{' => {
                self.bump();
                let Some(end) = self.rest().find('}') else {
                    return err("unexpected EOF while looking for matching `}'");
                };
                let inner = self.rest()[..end].to_owned();
                self.i += end + 1;
                let mut chars = inner.chars();
                let single = match (chars.next(), chars.next()) {
                    (Some(c), None) => special(c),
                    _ => None,
                };
                if let Some(p) = single {
                    Ok(Some(p))
                } else if is_name(&inner) {
                    Ok(Some(Param::Named(inner)))
                } else {
                    err(format!("${{{inner}}}: bad substitution"))
                }
            }
            '(' => err("command substitution ($(...)) is not supported"),
            c if is_name_start(c) => {
                let len = self
                    .rest()
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(self.rest().len());
                let name = self.rest()[..len].to_owned();
                self.i += len;
                Ok(Some(Param::Named(name)))
            }
            c => match special(c) {
                Some(p) => {
                    self.bump();
                    Ok(Some(p))
                }
                None => Ok(None),
            },
        }
    }
}

/// `NAME=rest` at the start of a word: the name and the value word.
fn split_assignment(word: &Word) -> Option<(String, Word)> {
    let Some(Seg::Lit(first)) = word.0.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = &first[..eq];
    if !is_name(name) {
        return None;
    }
    let mut value = Vec::new();
    let tail = &first[eq + 1..];
    if !tail.is_empty() {
        value.push(Seg::Lit(tail.to_owned()));
    }
    value.extend(word.0[1..].iter().cloned());
    Some((name.to_owned(), Word(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Word {
        Word(vec![Seg::Lit(s.into())])
    }

    fn one(src: &str) -> Command {
        let lines = parse_all(src).unwrap();
        assert_eq!(lines.len(), 1, "{src}");
        assert_eq!(lines[0].len(), 1, "{src}");
        assert!(lines[0][0].rest.is_empty(), "{src}");
        lines[0][0].first.clone()
    }

    #[test]
    fn separators_and_connectors_build_and_or_lists_per_line() {
        let lines = parse_all("a && b || c; d\n\n# comment\ne").unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 2);
        let conns: Vec<Connector> = lines[0][0].rest.iter().map(|(c, _)| *c).collect();
        assert_eq!(conns, vec![Connector::And, Connector::Or]);
        assert_eq!(lines[1][0].first.words, vec![lit("e")]);
        let continued = parse_all("a &&\n  # why\n b").unwrap();
        assert_eq!(continued.len(), 1, "a line may continue after &&");
    }

    #[test]
    fn quoting_keeps_blanks_and_metacharacters_inside_one_word() {
        let cmd = one(r#"echo 'a b;c' "d $X e" f\ g "" '' h"i"j"#);
        assert_eq!(cmd.words.len(), 7);
        assert_eq!(cmd.words[1], Word(vec![Seg::Quoted("a b;c".into())]));
        assert_eq!(
            cmd.words[2],
            Word(vec![
                Seg::Quoted("d ".into()),
                Seg::Param {
                    param: Param::Named("X".into()),
                    quoted: true
                },
                Seg::Quoted(" e".into()),
            ])
        );
        assert_eq!(
            cmd.words[3],
            Word(vec![
                Seg::Lit("f".into()),
                Seg::Quoted(" ".into()),
                Seg::Lit("g".into())
            ])
        );
        assert_eq!(cmd.words[4], Word(vec![Seg::Quoted(String::new())]));
        assert_eq!(cmd.words[5], Word(vec![Seg::Quoted(String::new())]));
        assert_eq!(
            cmd.words[6],
            Word(vec![
                Seg::Lit("h".into()),
                Seg::Quoted("i".into()),
                Seg::Lit("j".into())
            ])
        );
    }

    #[test]
    fn parameters_take_every_documented_form() {
        let cmd = one("echo $A ${B_2} $? $$ $# $@ $* $0 $9 $ x$");
        let params: Vec<&Seg> = cmd.words[1..].iter().flat_map(|w| &w.0).collect();
        assert_eq!(
            params,
            vec![
                &Seg::Param {
                    param: Param::Named("A".into()),
                    quoted: false
                },
                &Seg::Param {
                    param: Param::Named("B_2".into()),
                    quoted: false
                },
                &Seg::Param {
                    param: Param::Status,
                    quoted: false
                },
                &Seg::Param {
                    param: Param::Pid,
                    quoted: false
                },
                &Seg::Param {
                    param: Param::Count,
                    quoted: false
                },
                &Seg::Param {
                    param: Param::All,
                    quoted: false
                },
                &Seg::Param {
                    param: Param::All,
                    quoted: false
                },
                &Seg::Param {
                    param: Param::Positional(0),
                    quoted: false
                },
                &Seg::Param {
                    param: Param::Positional(9),
                    quoted: false
                },
                &Seg::Lit("$".into()),
                &Seg::Lit("x$".into()),
            ]
        );
    }

    #[test]
    fn redirections_take_numbers_duplications_and_a_blank_before_the_target() {
        let cmd = one("cmd 1> /tmp/a 2> /tmp/b >>c <d 2>&1 &>e >&2 3>&-");
        let ops: Vec<(u32, RedirOp)> = cmd.redirs.iter().map(|r| (r.fd, r.op)).collect();
        assert_eq!(
            ops,
            vec![
                (1, RedirOp::Write),
                (2, RedirOp::Write),
                (1, RedirOp::Append),
                (0, RedirOp::Read),
                (2, RedirOp::Dup(1)),
                (1, RedirOp::Both),
                (1, RedirOp::Dup(2)),
                (3, RedirOp::Dup(u32::MAX)),
            ]
        );
        assert_eq!(cmd.redirs[0].target, lit("/tmp/a"));
        assert_eq!(cmd.words, vec![lit("cmd")]);
    }

    #[test]
    fn govc_guest_run_command_lines_parse_as_one_command_with_two_redirections() {
        let cmd = one(r#""/bin/bash" -c 'uname -a' 1> /tmp/govmomi-1 2> /tmp/govmomi-2"#);
        assert_eq!(cmd.words.len(), 3);
        assert_eq!(cmd.words[2], Word(vec![Seg::Quoted("uname -a".into())]));
        assert_eq!(cmd.redirs.len(), 2);
    }

    #[test]
    fn leading_assignments_are_split_from_the_command_words() {
        let cmd = one("A=1 B=x$C cmd D=2");
        assert_eq!(cmd.assigns.len(), 2);
        assert_eq!(cmd.assigns[0], ("A".into(), lit("1")));
        assert_eq!(
            cmd.words.len(),
            2,
            "an assignment after the name is an argument"
        );
        let bare = one("X=");
        assert_eq!(bare.assigns, vec![("X".into(), Word(vec![]))]);
    }

    #[test]
    fn unsupported_constructs_are_syntax_errors_that_name_them() {
        let table = [
            ("a | b", "pipelines"),
            ("a & b", "background"),
            ("(a)", "subshells"),
            ("echo $(date)", "command substitution"),
            ("echo `date`", "command substitution"),
            ("if true; then x; fi", "`if'"),
            ("cat <<EOF", "here-documents"),
            ("echo ${A:-b}", "bad substitution"),
            ("echo 'open", "matching `''"),
            ("echo \"open", "matching `\"'"),
            ("a &&", "unexpected end of file"),
            ("; a", "unexpected token `;'"),
            ("a ;; b", "unexpected token `;'"),
            ("a && && b", "unexpected token `&&'"),
            ("echo >", "`newline'"),
            ("echo 2>&x", "ambiguous redirect"),
        ];
        for (src, needle) in table {
            let e = parse_all(src).expect_err(src);
            assert!(e.0.contains(needle), "{src}: {}", e.0);
        }
    }

    #[test]
    fn tilde_expands_only_at_the_start_of_an_unquoted_word() {
        assert_eq!(one("cd ~").words[1], Word(vec![Seg::Tilde]));
        assert_eq!(
            one("cd ~/x").words[1],
            Word(vec![Seg::Tilde, Seg::Lit("/x".into())])
        );
        assert_eq!(one("echo a~").words[1], lit("a~"));
        assert_eq!(one("echo ~user").words[1], lit("~user"));
    }

    #[test]
    fn backslash_newline_continues_a_line() {
        let lines = parse_all("echo a \\\n b").unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0][0].first.words.len(), 3);
    }
}
