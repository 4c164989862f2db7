//! Owns the shell's syntax tree: lines of and-or lists of simple commands, words and
//! redirections, shared by the `sh` and `cmd.exe` dialects.

/// A parameter a word refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// `$NAME` or `${NAME}`.
    Named(String),
    /// `$?`: the status of the last command.
    Status,
    /// `$$`: the shell's process id.
    Pid,
    /// `$#`: how many positional parameters there are.
    Count,
    /// `$@` or `$*`: every positional parameter.
    All,
    /// `$0` to `$9`.
    Positional(u8),
}

/// One piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// Unquoted text: subject to nothing further (no globbing in this shell).
    Lit(String),
    /// Quoted or escaped text: never split.
    Quoted(String),
    /// A parameter expansion; unquoted ones are split into fields on blanks.
    Param {
        /// The parameter.
        param: Param,
        /// Whether it was inside double quotes.
        quoted: bool,
    },
    /// A leading unquoted `~`: the home directory.
    Tilde,
}

/// A word: pieces that expand and join into zero or more fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word(pub Vec<Seg>);

impl Word {
    /// A word of plain quoted text (used by the `cmd.exe` dialect, which expands earlier).
    pub fn text(s: impl Into<String>) -> Self {
        Self(vec![Seg::Quoted(s.into())])
    }
}

/// What a redirection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirOp {
    /// `n> file`: truncate or create.
    Write,
    /// `n>> file`: append or create.
    Append,
    /// `n< file`: read.
    Read,
    /// `n>&m`: make `n` a copy of `m`.
    Dup(u32),
    /// `&> file`: stdout and stderr to the file, truncating.
    Both,
    /// `&>> file`: stdout and stderr to the file, appending.
    BothAppend,
}

/// A redirection of one file descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redir {
    /// The descriptor redirected (0 stdin, 1 stdout, 2 stderr).
    pub fd: u32,
    /// How.
    pub op: RedirOp,
    /// The file, for the operations that take one.
    pub target: Word,
}

/// A simple command: assignments, words and redirections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// `NAME=value` words before the command name.
    pub assigns: Vec<(String, Word)>,
    /// The command name and its arguments (sh), or the name alone (cmd).
    pub words: Vec<Word>,
    /// For `cmd.exe`: the raw argument text after the name, redirections removed.
    pub raw_args: Option<String>,
    /// Redirections, in the order written.
    pub redirs: Vec<Redir>,
}

/// How a command joins the one before it in an and-or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// `&&`: run only if the previous status is 0.
    And,
    /// `||`: run only if the previous status is not 0.
    Or,
}

/// `a && b || c`: a first command and the rest with their connectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    /// The first command.
    pub first: Command,
    /// The following commands.
    pub rest: Vec<(Connector, Command)>,
}

/// One complete line: and-or lists separated by `;` (sh) or `&` (cmd).
pub type Line = Vec<AndOr>;

/// A syntax error, reported as the shell reports it and ending the shell with status 2 (sh)
/// or failing the line with status 1 (cmd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);
