//! Just enough POSIX shell to read an entrypoint: split a command string into
//! simple commands, drop redirections, expand words (quotes, `$VAR`,
//! `${VAR}`, `${VAR:-x}` and friends, `$1`…, `"$@"`).
//!
//! Not a shell interpreter: compound commands (`if`, `for`, `case`, `{ }`,
//! subshells, functions), here-documents, command substitution and the other
//! parameter operators are reported as constructs we do not follow, so the
//! caller can stop with a reason instead of guessing.

use std::collections::BTreeMap;

/// Words that start compound commands or otherwise change control flow.
const RESERVED: [&str; 18] = [
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "{", "}", "!", "[[", "function",
];

/// A construct we do not follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// One simple command: raw words (quotes kept, expansion pending), without
/// redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    pub words: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    /// `;`, `&`, `&&`, `||`, `|`, newline.
    Separator,
    /// `<`, `>`, `>>`, `<&`, `>&`, `<>`, `>|`: the next word is its target.
    Redirect,
    /// `(` or `)`: subshells and function definitions.
    Paren(char),
}

/// Splits `text` into simple commands.
pub fn parse_commands(text: &str) -> Result<Vec<SimpleCommand>, Unsupported> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut tokens = lex(text)?.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(w) => {
                if words.is_empty() && RESERVED.contains(&w.as_str()) {
                    return Err(Unsupported(format!("`{w}`")));
                }
                words.push(w);
            }
            Token::Redirect => match tokens.next() {
                Some(Token::Word(_)) => {}
                _ => return Err(Unsupported("redirection without a target".into())),
            },
            Token::Separator => {
                if !words.is_empty() {
                    commands.push(SimpleCommand {
                        words: std::mem::take(&mut words),
                    });
                }
            }
            Token::Paren(c) => return Err(Unsupported(format!("`{c}`"))),
        }
    }
    if !words.is_empty() {
        commands.push(SimpleCommand { words });
    }
    Ok(commands)
}

/// The `exec COMMAND …` commands on one line of a script, in order, even
/// when the line also holds other constructs (`then exec x`, `&& exec y`,
/// `f() { exec z "$@"; }`). Each is returned without the `exec` word and
/// its options; `exec` with only redirections (`exec 2>&1`) is skipped.
pub fn exec_commands(line: &str) -> Result<Vec<SimpleCommand>, Unsupported> {
    let mut found = Vec::new();
    let mut segment: Vec<String> = Vec::new();
    let mut tokens = lex(line)?.into_iter().peekable();
    let mut flush = |segment: &mut Vec<String>| {
        let words = std::mem::take(segment);
        // Reserved words may open the segment (`then exec …`, `do exec …`).
        let start = words
            .iter()
            .position(|w| !RESERVED.contains(&w.as_str()))
            .unwrap_or(words.len());
        if words.get(start).map(String::as_str) != Some("exec") {
            return;
        }
        let mut rest = &words[start + 1..];
        // exec's own options (bash): -c, -l, -a NAME.
        while let Some(first) = rest.first() {
            match first.as_str() {
                "-c" | "-l" | "-cl" | "-lc" => rest = &rest[1..],
                "-a" => rest = rest.get(2..).unwrap_or_default(),
                "--" => {
                    rest = &rest[1..];
                    break;
                }
                _ => break,
            }
        }
        if !rest.is_empty() {
            found.push(SimpleCommand {
                words: rest.to_vec(),
            });
        }
    };
    while let Some(token) = tokens.next() {
        match token {
            Token::Word(w) => segment.push(w),
            Token::Redirect => {
                tokens.next();
            }
            Token::Separator | Token::Paren(_) => flush(&mut segment),
        }
    }
    flush(&mut segment);
    Ok(found)
}

fn lex(text: &str) -> Result<Vec<Token>, Unsupported> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let end_word = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(&c) = chars.get(i) {
        match c {
            ' ' | '\t' | '\r' => {
                end_word(&mut word, &mut in_word, &mut tokens);
                i += 1;
            }
            '\n' => {
                end_word(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Separator);
                i += 1;
            }
            '#' if !in_word => {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            ';' | '&' | '|' => {
                end_word(&mut word, &mut in_word, &mut tokens);
                if c == ';' && chars.get(i + 1) == Some(&';') {
                    return Err(Unsupported("`;;`".into()));
                }
                // `&&`, `||` are one separator; `;`, `&`, `|` another.
                i += if chars.get(i + 1) == Some(&c) { 2 } else { 1 };
                tokens.push(Token::Separator);
            }
            '(' | ')' => {
                end_word(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Paren(c));
                i += 1;
            }
            '<' | '>' => {
                // Digits right before a redirection are its file descriptor.
                if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                end_word(&mut word, &mut in_word, &mut tokens);
                if c == '<' && chars.get(i + 1) == Some(&'<') {
                    return Err(Unsupported("here-document".into()));
                }
                i += 1;
                if matches!(chars.get(i), Some('>' | '&' | '|')) {
                    i += 1;
                }
                // `2>&1`: the target is a descriptor, still a word.
                tokens.push(Token::Redirect);
            }
            '\\' => {
                in_word = true;
                match chars.get(i + 1) {
                    Some('\n') => {} // line continuation
                    Some(&n) => {
                        word.push('\\');
                        word.push(n);
                    }
                    None => word.push('\\'),
                }
                i += 2;
            }
            '\'' => {
                in_word = true;
                let close = find_from(&chars, i + 1, '\'')
                    .ok_or_else(|| Unsupported("unterminated single quote".into()))?;
                word.extend(&chars[i..=close]);
                i = close + 1;
            }
            '"' => {
                in_word = true;
                let close = double_quote_end(&chars, i)?;
                word.extend(&chars[i..=close]);
                i = close + 1;
            }
            '$' => {
                in_word = true;
                let end = dollar_end(&chars, i)?;
                word.extend(&chars[i..end]);
                i = end;
            }
            '`' => {
                in_word = true;
                let close = find_from(&chars, i + 1, '`')
                    .ok_or_else(|| Unsupported("unterminated backquote".into()))?;
                word.extend(&chars[i..=close]);
                i = close + 1;
            }
            _ => {
                in_word = true;
                word.push(c);
                i += 1;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut tokens);
    Ok(tokens)
}

fn find_from(chars: &[char], from: usize, c: char) -> Option<usize> {
    chars
        .get(from..)?
        .iter()
        .position(|&x| x == c)
        .map(|p| p + from)
}

/// Index of the `"` closing the double quote opened at `open`.
fn double_quote_end(chars: &[char], open: usize) -> Result<usize, Unsupported> {
    let mut i = open + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '"' => return Ok(i),
            '\\' => i += 2,
            '$' => i = dollar_end(chars, i)?,
            '`' => {
                i = find_from(chars, i + 1, '`')
                    .ok_or_else(|| Unsupported("unterminated backquote".into()))?
                    + 1
            }
            _ => i += 1,
        }
    }
    Err(Unsupported("unterminated double quote".into()))
}

/// Index just past the `$…` expansion starting at `at`.
fn dollar_end(chars: &[char], at: usize) -> Result<usize, Unsupported> {
    let (open, close) = match chars.get(at + 1) {
        Some('{') => ('{', '}'),
        Some('(') => ('(', ')'),
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let mut i = at + 1;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                i += 1;
            }
            return Ok(i);
        }
        Some(_) => return Ok(at + 2), // `$1`, `$@`, `$?`, …
        None => return Ok(at + 1),
    };
    let mut depth = 0usize;
    let mut i = at + 1;
    while let Some(&c) = chars.get(i) {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Ok(i + 1);
            }
        } else if c == '\\' {
            i += 1;
        }
        i += 1;
    }
    Err(Unsupported(format!("unterminated `${open}`")))
}

/// What a word may refer to while it is expanded.
pub struct Params<'a> {
    pub env: &'a BTreeMap<String, String>,
    /// `$0`.
    pub arg0: &'a str,
    /// `$1`, `$2`, …, `$@`.
    pub positional: &'a [String],
    /// Scripts set their own variables; a name missing from the image's
    /// environment is then unknown rather than empty.
    pub unset_is_unknown: bool,
}

/// Why a word could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// A variable not in the environment, where it may have been set by the script.
    Unknown(String),
    Unsupported(String),
}

/// Expands one raw word into the fields the shell would pass to a program.
pub fn expand(raw: &str, p: &Params<'_>) -> Result<Vec<String>, ExpandError> {
    match raw {
        "\"$@\"" => return Ok(p.positional.to_vec()),
        "$@" | "$*" => {
            return Ok(p
                .positional
                .iter()
                .flat_map(|a| a.split_whitespace())
                .map(str::to_string)
                .collect())
        }
        _ => {}
    }
    let chars: Vec<char> = raw.chars().collect();
    let mut fields = Fields::default();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    fields.push_quoted(&n.to_string());
                }
                i += 2;
            }
            '\'' => {
                let close = find_from(&chars, i + 1, '\'').unwrap_or(chars.len());
                let text: String = chars[i + 1..close.min(chars.len())].iter().collect();
                fields.push_quoted(&text);
                i = close + 1;
            }
            '"' => {
                let close = double_quote_end(&chars, i)
                    .map_err(|Unsupported(what)| ExpandError::Unsupported(what))?;
                fields.push_quoted(&expand_in_double_quotes(&chars[i + 1..close], p, 0)?);
                i = close + 1;
            }
            '$' => {
                let end = dollar_end(&chars, i)
                    .map_err(|Unsupported(what)| ExpandError::Unsupported(what))?;
                let value = parameter(&chars[i..end], p, 0)?;
                fields.push_unquoted(&value);
                i = end;
            }
            '`' => return Err(ExpandError::Unsupported("command substitution".into())),
            _ => {
                fields.push_quoted(&c.to_string());
                i += 1;
            }
        }
    }
    Ok(fields.finish())
}

fn expand_in_double_quotes(
    chars: &[char],
    p: &Params<'_>,
    depth: usize,
) -> Result<String, ExpandError> {
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some(&n @ ('$' | '`' | '"' | '\\')) => out.push(n),
                    Some('\n') => {}
                    Some(&n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                }
                i += 2;
            }
            '$' => {
                let end = dollar_end(chars, i)
                    .map_err(|Unsupported(what)| ExpandError::Unsupported(what))?;
                if chars[i..end] == ['$', '@'] {
                    return Err(ExpandError::Unsupported(
                        "\"$@\" inside a longer word".into(),
                    ));
                }
                out.push_str(&parameter(&chars[i..end], p, depth)?);
                i = end;
            }
            '`' => return Err(ExpandError::Unsupported("command substitution".into())),
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// `${A:-${B:-…}}` nesting followed before giving up (hostile scripts
/// must not exhaust the stack).
const MAX_NESTING: usize = 16;

/// The value of one `$…` expansion (`text` starts with `$`).
fn parameter(text: &[char], p: &Params<'_>, depth: usize) -> Result<String, ExpandError> {
    if depth > MAX_NESTING {
        return Err(ExpandError::Unsupported(
            "parameter expansions nested too deep".into(),
        ));
    }
    let body: String = text.iter().skip(1).collect();
    if body.is_empty() {
        return Ok("$".to_string());
    }
    if body.starts_with('(') {
        return Err(ExpandError::Unsupported("command substitution".into()));
    }
    let Some(inner) = body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) else {
        return lookup(&body, p);
    };
    let name_len = if inner.starts_with(|c: char| c.is_ascii_digit()) {
        inner.chars().take_while(char::is_ascii_digit).count()
    } else {
        inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .count()
    };
    let (name, op) = inner.split_at(name_len);
    if name.is_empty() {
        return Err(ExpandError::Unsupported(format!("${{{inner}}}")));
    }
    let value = match lookup(name, p) {
        Ok(v) => Some(v),
        Err(ExpandError::Unknown(_)) if !op.is_empty() => None,
        Err(e) => return Err(e),
    };
    // `:` makes an empty value count as unset.
    let (colon, op) = match op.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, op),
    };
    let set = value.as_ref().is_some_and(|v| !colon || !v.is_empty());
    let word = || -> Result<String, ExpandError> {
        let chars: Vec<char> = op.chars().skip(1).collect();
        expand_in_double_quotes(&chars, p, depth + 1)
    };
    match op.chars().next() {
        None => Ok(value.unwrap_or_default()),
        Some('-') | Some('=') => {
            if set {
                Ok(value.unwrap_or_default())
            } else {
                word()
            }
        }
        Some('+') => {
            if set {
                word()
            } else {
                Ok(String::new())
            }
        }
        Some('?') if set => Ok(value.unwrap_or_default()),
        Some('?') => Err(ExpandError::Unknown(name.to_string())),
        Some(_) => Err(ExpandError::Unsupported(format!("${{{inner}}}"))),
    }
}

fn lookup(name: &str, p: &Params<'_>) -> Result<String, ExpandError> {
    if let Ok(n) = name.parse::<usize>() {
        return Ok(match n {
            0 => p.arg0.to_string(),
            n => p.positional.get(n - 1).cloned().unwrap_or_default(),
        });
    }
    match name {
        "#" => return Ok(p.positional.len().to_string()),
        "@" | "*" => return Ok(p.positional.join(" ")),
        _ => {}
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(ExpandError::Unsupported(format!("${name}")));
    }
    match p.env.get(name) {
        Some(v) => Ok(v.clone()),
        None if p.unset_is_unknown => Err(ExpandError::Unknown(name.to_string())),
        None => Ok(String::new()),
    }
}

/// Builds fields the way the shell does: quoted text always joins the
/// current field; unquoted expansion results are split on white space.
#[derive(Default)]
struct Fields {
    done: Vec<String>,
    current: String,
    /// The current field exists even if empty (`""` is one empty argument).
    started: bool,
}

impl Fields {
    fn push_quoted(&mut self, text: &str) {
        self.current.push_str(text);
        self.started = true;
    }

    fn push_unquoted(&mut self, value: &str) {
        let mut pieces = value.split([' ', '\t', '\n']).peekable();
        while let Some(piece) = pieces.next() {
            if !piece.is_empty() {
                self.current.push_str(piece);
                self.started = true;
            }
            if pieces.peek().is_some() {
                self.end_field();
            }
        }
    }

    fn end_field(&mut self) {
        if self.started {
            self.done.push(std::mem::take(&mut self.current));
            self.started = false;
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.end_field();
        self.done
    }
}

/// True for `NAME=value` words (assignments before a command).
pub fn is_assignment(raw: &str) -> bool {
    match raw.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        parse_commands(text)
            .unwrap()
            .into_iter()
            .map(|c| c.words)
            .collect()
    }

    #[test]
    fn splits_command_lists_and_drops_redirections() {
        assert_eq!(
            words("cd /app && exec python3 -m http.server 8000 >/dev/null 2>&1; echo 'a;b'"),
            vec![
                vec!["cd", "/app"],
                vec!["exec", "python3", "-m", "http.server", "8000"],
                vec!["echo", "'a;b'"],
            ]
        );
        assert_eq!(
            words("a | b\n# comment\nc"),
            vec![vec!["a"], vec!["b"], vec!["c"]]
        );
        assert_eq!(
            words("x \"a b\"#not-comment"),
            vec![vec!["x", "\"a b\"#not-comment"]]
        );
        for bad in [
            "if true; then x; fi",
            "(cd x)",
            "cat <<EOF",
            "echo \"open",
            "x $(date",
        ] {
            assert!(parse_commands(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expands_like_the_shell() {
        let env: BTreeMap<String, String> = [("HOME", "/root"), ("OPTS", "-a  -b"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let positional = vec!["one".to_string(), "two words".to_string()];
        let p = Params {
            env: &env,
            arg0: "script.sh",
            positional: &positional,
            unset_is_unknown: false,
        };
        let e = |raw: &str| expand(raw, &p).unwrap();
        assert_eq!(e("\"$@\""), vec!["one", "two words"]);
        assert_eq!(e("$@"), vec!["one", "two", "words"]);
        assert_eq!(e("$OPTS"), vec!["-a", "-b"]);
        assert_eq!(e("\"$OPTS\""), vec!["-a  -b"]);
        assert_eq!(e("${HOME}/bin"), vec!["/root/bin"]);
        assert_eq!(e("${NOPE:-/usr/bin/python3}"), vec!["/usr/bin/python3"]);
        assert_eq!(e("${EMPTY:-x}"), vec!["x"]);
        assert_eq!(e("${EMPTY-x}"), Vec::<String>::new());
        assert_eq!(e("${HOME:+set}"), vec!["set"]);
        assert_eq!(e("$NOPE"), Vec::<String>::new());
        assert_eq!(e("\"\""), vec![""]);
        assert_eq!(e("'$HOME'"), vec!["$HOME"]);
        assert_eq!(e("a\\ b"), vec!["a b"]);
        assert_eq!(e("$1"), vec!["one"]);
        assert_eq!(e("$#"), vec!["2"]);
        assert_eq!(e("$0"), vec!["script.sh"]);
        assert!(matches!(
            expand("$(id -u)", &p),
            Err(ExpandError::Unsupported(_))
        ));
        assert!(matches!(
            expand("${HOME#/}", &p),
            Err(ExpandError::Unsupported(_))
        ));
        let strict = Params {
            unset_is_unknown: true,
            ..p
        };
        assert_eq!(
            expand("\"$APP_BIN\"", &strict),
            Err(ExpandError::Unknown("APP_BIN".into()))
        );
        assert_eq!(
            expand("${APP_BIN:-/app/run}", &strict).unwrap(),
            vec!["/app/run"]
        );
    }

    #[test]
    fn finds_exec_commands_inside_other_constructs() {
        let execs = |line: &str| -> Vec<Vec<String>> {
            exec_commands(line)
                .unwrap()
                .into_iter()
                .map(|c| c.words)
                .collect()
        };
        assert_eq!(execs("exec \"$@\""), vec![vec!["\"$@\""]]);
        assert_eq!(
            execs("if [ -x /x ]; then exec gosu app /x \"$@\"; fi"),
            vec![vec!["gosu", "app", "/x", "\"$@\""]]
        );
        assert_eq!(
            execs("[ -n \"$X\" ] && exec -a name nginx -g 'daemon off;'"),
            vec![vec!["nginx", "-g", "'daemon off;'"]]
        );
        assert_eq!(
            execs("main() { exec python3 app.py; }"),
            vec![vec!["python3", "app.py"]]
        );
        assert!(execs("exec 2>&1 >/var/log/x").is_empty());
        assert!(execs("echo exec").is_empty());
    }

    #[test]
    fn recognizes_assignments() {
        assert!(is_assignment("PATH=/x:$PATH"));
        assert!(!is_assignment("--opt=1"));
        assert!(!is_assignment("=x"));
    }
}
