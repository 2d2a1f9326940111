//! License expressions as package databases record them, judged against a
//! policy's allow or deny list.
//!
//! An entry is read as an SPDX license expression: ids joined by `AND`,
//! `OR` (any case, as DEP-5 writes `or`), `WITH` exceptions and
//! parentheses; commas (DEP-5 lists) are ignored. Ids are compared to list
//! entries case-insensitively, `*` in a list entry matching any run. Several
//! entries on one component all apply (AND). An `OR` lets the user pick, so
//! `MIT OR GPL-3.0-only` is denied only when both sides are.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Id(String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Ids that say nothing about the license.
const NO_ANSWER: &[&str] = &["NOASSERTION", "NONE", "UNKNOWN"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    With,
    Id(String),
}

fn tokens(text: &str) -> Vec<Token> {
    let spaced = text
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace(',', " ");
    spaced
        .split_whitespace()
        .map(|w| match w {
            "(" => Token::Open,
            ")" => Token::Close,
            _ if w.eq_ignore_ascii_case("and") => Token::And,
            _ if w.eq_ignore_ascii_case("or") => Token::Or,
            _ if w.eq_ignore_ascii_case("with") => Token::With,
            _ => Token::Id(w.to_string()),
        })
        .collect()
}

/// `None` when the text is not an expression (free text, a lone operator,
/// unbalanced parentheses) or names no license (`NOASSERTION`).
pub fn parse(text: &str) -> Option<Expr> {
    let tokens = tokens(text);
    let mut pos = 0;
    let expr = or_expr(&tokens, &mut pos, 0)?;
    (pos == tokens.len()).then_some(expr)
}

/// Nesting deeper than this is not a license.
const MAX_DEPTH: usize = 32;

fn or_expr(t: &[Token], pos: &mut usize, depth: usize) -> Option<Expr> {
    let mut left = and_expr(t, pos, depth)?;
    while t.get(*pos) == Some(&Token::Or) {
        *pos += 1;
        left = Expr::Or(Box::new(left), Box::new(and_expr(t, pos, depth)?));
    }
    Some(left)
}

fn and_expr(t: &[Token], pos: &mut usize, depth: usize) -> Option<Expr> {
    let mut left = atom(t, pos, depth)?;
    while t.get(*pos) == Some(&Token::And) {
        *pos += 1;
        left = Expr::And(Box::new(left), Box::new(atom(t, pos, depth)?));
    }
    Some(left)
}

fn atom(t: &[Token], pos: &mut usize, depth: usize) -> Option<Expr> {
    match t.get(*pos)? {
        Token::Open if depth < MAX_DEPTH => {
            *pos += 1;
            let inner = or_expr(t, pos, depth + 1)?;
            (t.get(*pos) == Some(&Token::Close)).then_some(())?;
            *pos += 1;
            Some(inner)
        }
        Token::Id(id) => {
            if NO_ANSWER.iter().any(|n| n.eq_ignore_ascii_case(id)) {
                return None;
            }
            *pos += 1;
            // `X WITH exception`: judged as X.
            if t.get(*pos) == Some(&Token::With) {
                match t.get(*pos + 1) {
                    Some(Token::Id(_)) => *pos += 2,
                    _ => return None,
                }
            }
            Some(Expr::Id(id.clone()))
        }
        _ => None,
    }
}

/// Does a list entry (maybe with `*`) name this id?
pub fn listed(list: &[String], id: &str) -> Option<String> {
    let id = id.to_ascii_lowercase();
    list.iter()
        .find(|entry| super::purl_pattern::glob(&entry.to_ascii_lowercase(), &id))
        .cloned()
}

impl Expr {
    /// The deny-list entries this expression cannot avoid (empty: it can be
    /// satisfied without any denied license).
    pub fn unavoidable(&self, deny: &[String]) -> Vec<(String, String)> {
        match self {
            Expr::Id(id) => listed(deny, id)
                .map(|entry| vec![(id.clone(), entry)])
                .unwrap_or_default(),
            Expr::And(a, b) => {
                let mut all = a.unavoidable(deny);
                all.extend(b.unavoidable(deny));
                all
            }
            Expr::Or(a, b) => {
                let (x, y) = (a.unavoidable(deny), b.unavoidable(deny));
                if x.is_empty() || y.is_empty() {
                    Vec::new()
                } else {
                    x.into_iter().chain(y).collect()
                }
            }
        }
    }

    /// The ids outside the allow list this expression cannot avoid.
    pub fn not_allowed(&self, allow: &[String]) -> Vec<String> {
        match self {
            Expr::Id(id) => match listed(allow, id) {
                Some(_) => Vec::new(),
                None => vec![id.clone()],
            },
            Expr::And(a, b) => {
                let mut all = a.not_allowed(allow);
                all.extend(b.not_allowed(allow));
                all
            }
            Expr::Or(a, b) => {
                let (x, y) = (a.not_allowed(allow), b.not_allowed(allow));
                if x.is_empty() || y.is_empty() {
                    Vec::new()
                } else {
                    x.into_iter().chain(y).collect()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_spdx_and_dep5() {
        assert_eq!(parse("MIT"), Some(Expr::Id("MIT".into())));
        assert!(parse("MIT OR (Apache-2.0 AND BSD-3-Clause)").is_some());
        assert!(parse("GPL-2+ or Artistic").is_some());
        assert!(parse("GPL-2.0-only WITH Classpath-exception-2.0").is_some());
        assert!(parse("GPL-2+, and BSD").is_some());
        for bad in [
            "",
            "Apache License 2.0",
            "MIT OR",
            "(MIT",
            "MIT)",
            "AND",
            "NOASSERTION",
            "GPL WITH",
            &"(".repeat(100),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn or_lets_the_user_choose() {
        let deny = list(&["gpl-3.0-*"]);
        let e = parse("MIT OR GPL-3.0-only").unwrap();
        assert!(e.unavoidable(&deny).is_empty());
        let e = parse("MIT AND GPL-3.0-only").unwrap();
        assert_eq!(
            e.unavoidable(&deny),
            vec![("GPL-3.0-only".into(), "gpl-3.0-*".into())]
        );
        let allow = list(&["MIT", "Apache-2.0"]);
        assert!(parse("mit OR GPL-3.0-only")
            .unwrap()
            .not_allowed(&allow)
            .is_empty());
        assert_eq!(
            parse("MIT AND (BSD-3-Clause OR Zlib)")
                .unwrap()
                .not_allowed(&allow),
            vec!["BSD-3-Clause".to_string(), "Zlib".to_string()]
        );
    }
}
