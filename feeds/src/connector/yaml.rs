//! YAML documents as JSON values, with every plain scalar kept as the text
//! it was written as.
//!
//! Why not a YAML-to-serde crate: versions are written unquoted in feed
//! YAML (`fixed: 1.10`), and a typed loader turns that into the float 1.1 —
//! a different version. Here only `null`/`~`/empty and `true`/`false` are
//! typed; every other scalar stays a string, exactly as written. Built on
//! yaml-rust2's event parser, with bounds on depth and on the nodes aliases
//! may expand to (a "billion laughs" document is an error, not an OOM).

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 128;
/// Most nodes one document may expand to (aliases included).
const MAX_NODES: usize = 2_000_000;

/// Parses the first document of `text`.
pub fn to_json(text: &str) -> Result<Value, String> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| format!("YAML: {e}"))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.root.ok_or_else(|| "YAML: no document".to_string())
}

enum Open {
    Sequence(Vec<Value>, usize),
    /// Entries so far, a key waiting for its value, anchor.
    Mapping(Map<String, Value>, Option<String>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Value>,
    root: Option<Value>,
    nodes: usize,
    error: Option<String>,
}

impl Builder {
    fn fail(&mut self, why: String, mark: Marker) {
        if self.error.is_none() {
            self.error = Some(format!(
                "YAML line {}, column {}: {why}",
                mark.line(),
                mark.col() + 1
            ));
        }
    }

    /// Places a finished node in its parent (or as the document).
    fn place(&mut self, value: Value, anchor: usize, mark: Marker) {
        self.nodes += count_nodes(&value);
        if self.nodes > MAX_NODES {
            self.fail(
                format!("more than {MAX_NODES} nodes (alias expansion?)"),
                mark,
            );
            return;
        }
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
            }
            Some(Open::Sequence(items, _)) => items.push(value),
            Some(Open::Mapping(map, key, _)) => match key.take() {
                None => match value {
                    Value::String(k) => *key = Some(k),
                    Value::Null => *key = Some(String::new()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    _ => self.fail("a mapping key that is not a scalar".into(), mark),
                },
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
}

/// One for a scalar, plus the children of a collection.
fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::String(text),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                self.place(scalar(text, style), anchor, mark)
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(value) => self.place(value, 0, mark),
                None => self.fail(format!("alias to unknown anchor {id}"), mark),
            },
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _)
                if self.stack.len() >= MAX_DEPTH =>
            {
                let _ = anchor;
                self.fail(format!("nested deeper than {MAX_DEPTH}"), mark);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Sequence(Vec::new(), anchor)),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Mapping(Map::new(), None, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Sequence(items, anchor)) => {
                    self.place(Value::Array(items), anchor, mark)
                }
                Some(Open::Mapping(map, _, anchor)) => self.place(Value::Object(map), anchor, mark),
                None => self.fail("unbalanced collection end".into(), mark),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn plain_scalars_stay_text() {
        let v =
            to_json("fixed: 1.10\nversions:\n- 0.1\n- 007\n- '1.0'\nlimit: ~\nok: true\n").unwrap();
        assert_eq!(
            v,
            json!({"fixed": "1.10", "versions": ["0.1", "007", "1.0"], "limit": null, "ok": true})
        );
    }

    #[test]
    fn block_scalars_and_aliases() {
        let v = to_json("a: &x\n  k: v\nb: *x\ntext: |\n  line one\n  line two\n").unwrap();
        assert_eq!(v["b"], json!({"k": "v"}));
        assert_eq!(v["text"], "line one\nline two\n");
    }

    #[test]
    fn hostile_documents_are_errors() {
        // Each level doubles the expansion: 2^30 nodes from a few lines.
        let mut laughs = String::from("a0: &a0 [x, x]\n");
        for i in 1..30 {
            laughs.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}]\n", p = i - 1));
        }
        assert!(to_json(&laughs).unwrap_err().contains("nodes"));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(to_json(&deep).unwrap_err().contains("deeper"));
        assert!(to_json("a: [1, 2").is_err());
        assert!(to_json("").is_err());
    }
}
