//! A Functional layer's `inbound_nodes`, in Keras 3's format (`{"args": […], "kwargs": {…}}`
//! with `__keras_tensor__` objects) and in Keras 2's (`[["dense", 0, 0, {…}], …]`), read
//! into one form: the call's positional and keyword arguments, with tensors as references.

use serde_json::Value;

/// A reference to output `index` of call `node` of layer `layer` (Keras's `keras_history`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorRef {
    pub layer: String,
    pub node: usize,
    pub index: usize,
}

/// One argument of a layer call.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    /// A symbolic tensor.
    Tensor(TensorRef),
    /// A list (or tuple) of arguments: the inputs of a merging layer.
    List(Vec<Arg>),
    /// Anything else: a number, a flag, `null`.
    Const(Value),
}

impl Arg {
    /// Every tensor reference inside, in order.
    pub fn refs(&self) -> Vec<&TensorRef> {
        match self {
            Arg::Tensor(t) => vec![t],
            Arg::List(items) => items.iter().flat_map(Arg::refs).collect(),
            Arg::Const(_) => Vec::new(),
        }
    }
}

/// One call of a layer: `layer(*args, **kwargs)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Call {
    pub args: Vec<Arg>,
    pub kwargs: Vec<(String, Arg)>,
}

impl Call {
    /// Every tensor reference of the call (arguments and keyword arguments).
    pub fn refs(&self) -> Vec<&TensorRef> {
        let mut out: Vec<&TensorRef> = self.args.iter().flat_map(Arg::refs).collect();
        out.extend(self.kwargs.iter().flat_map(|(_, a)| a.refs()));
        out
    }
}

/// `[name, node, index]` (Keras 2 and `input_layers`/`output_layers`), with an optional
/// fourth element (Keras 2's per-tensor kwargs) returned beside it.
pub(crate) fn history(v: &Value) -> Option<(TensorRef, Option<&Value>)> {
    let a = v.as_array()?;
    if !(3..=4).contains(&a.len()) {
        return None;
    }
    let layer = a[0].as_str()?.to_string();
    let node = a[1].as_u64()? as usize;
    let index = a[2].as_u64()? as usize;
    Some((TensorRef { layer, node, index }, a.get(3)))
}

/// A Keras 3 argument value.
fn keras3_arg(v: &Value) -> Result<Arg, String> {
    if let Some(obj) = v.as_object()
        && obj.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__")
    {
        let h = obj
            .get("config")
            .and_then(|c| c.get("keras_history"))
            .and_then(history)
            .ok_or_else(|| format!("a __keras_tensor__ without a valid keras_history: {v}"))?;
        return Ok(Arg::Tensor(h.0));
    }
    if let Some(items) = v.as_array() {
        return Ok(Arg::List(items.iter().map(keras3_arg).collect::<Result<_, _>>()?));
    }
    // Keras 3 writes tuples as {"class_name": "__tuple__", "config": {"value": […]}}.
    if let Some(obj) = v.as_object()
        && obj.get("class_name").and_then(Value::as_str) == Some("__tuple__")
        && let Some(items) = obj.get("config").and_then(|c| c.get("value")).and_then(Value::as_array)
    {
        return Ok(Arg::List(items.iter().map(keras3_arg).collect::<Result<_, _>>()?));
    }
    Ok(Arg::Const(v.clone()))
}

/// A Keras 2 keyword-argument value: tensors are `[name, node, index]` lists.
fn keras2_kwarg(v: &Value) -> Arg {
    if let Some((t, _)) = history(v) {
        return Arg::Tensor(t);
    }
    if let Some(items) = v.as_array()
        && !items.is_empty()
        && items.iter().all(|x| history(x).is_some())
    {
        return Arg::List(items.iter().map(keras2_kwarg).collect());
    }
    Arg::Const(v.clone())
}

/// One entry of `inbound_nodes`, in either format.
pub(crate) fn parse_node(node: &Value) -> Result<Call, String> {
    if let Some(obj) = node.as_object() {
        let args = match obj.get("args") {
            Some(Value::Array(items)) => items.iter().map(keras3_arg).collect::<Result<_, _>>()?,
            None | Some(Value::Null) => Vec::new(),
            Some(other) => return Err(format!("`args` must be a list, received {other}")),
        };
        let kwargs = match obj.get("kwargs") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), keras3_arg(v)?)))
                .collect::<Result<_, String>>()?,
            None | Some(Value::Null) => Vec::new(),
            Some(other) => return Err(format!("`kwargs` must be an object, received {other}")),
        };
        return Ok(Call { args, kwargs });
    }
    // Keras 2: a list of [layer, node, tensor, kwargs]; one tensor, or a list of them.
    let refs = node
        .as_array()
        .ok_or_else(|| format!("an inbound node must be an object or a list, received {node}"))?;
    let mut tensors = Vec::new();
    let mut kwargs = Vec::new();
    for r in refs {
        let (t, kw) = history(r).ok_or_else(|| format!("expected [layer, node, tensor, {{kwargs}}], received {r}"))?;
        tensors.push(Arg::Tensor(t));
        if let Some(Value::Object(m)) = kw {
            kwargs = m.iter().map(|(k, v)| (k.clone(), keras2_kwarg(v))).collect();
        }
    }
    let first = match tensors.len() {
        0 => return Ok(Call::default()),
        1 => tensors.remove(0),
        _ => Arg::List(tensors),
    };
    Ok(Call {
        args: vec![first],
        kwargs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_formats_read_to_the_same_call() {
        let k3 = json!({"args": [[
            {"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["a", 0, 0]}},
            {"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["b", 1, 2]}}
        ]], "kwargs": {"training": false}});
        let k2 = json!([["a", 0, 0, {}], ["b", 1, 2, {}]]);
        for node in [k3, k2] {
            let call = parse_node(&node).unwrap();
            let refs: Vec<_> = call
                .refs()
                .into_iter()
                .map(|t| (t.layer.clone(), t.node, t.index))
                .collect();
            assert_eq!(refs, vec![("a".into(), 0, 0), ("b".into(), 1, 2)]);
            assert!(matches!(&call.args[..], [Arg::List(l)] if l.len() == 2));
        }
        let k2_kw = json!([["q", 0, 0, {"value": ["v", 0, 0]}]]);
        let call = parse_node(&k2_kw).unwrap();
        assert!(matches!(&call.kwargs[..], [(k, Arg::Tensor(t))] if k == "value" && t.layer == "v"));
        assert!(parse_node(&json!([["a", "x", 0]])).is_err());
    }
}
