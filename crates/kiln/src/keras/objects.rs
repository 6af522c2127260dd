//! Serialized Keras objects inside layer configs: initializers, regularizers, constraints.

use crate::constraints::ConstraintArg;
use crate::initializers::InitializerArg;
use crate::regularizers::Regularizer;
use kiln_ir::Initializer;
use serde_json::Value;

fn num(config: &Value, key: &str, default: f32) -> f32 {
    config.get(key).and_then(Value::as_f64).map_or(default, |x| x as f32)
}

fn axes(config: &Value) -> Vec<i64> {
    match config.get("axis") {
        Some(Value::Number(n)) => vec![n.as_i64().unwrap_or(0)],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_i64).collect(),
        _ => vec![0],
    }
}

fn snake(class: &str) -> String {
    let mut out = String::new();
    let mut previous_upper = true;
    for c in class.chars() {
        let upper = c.is_ascii_uppercase();
        if upper && !previous_upper {
            out.push('_');
        }
        previous_upper = upper;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// An initializer from its Keras class (`GlorotUniform`) or name (`glorot_uniform`).
pub(crate) fn initializer(class: &str, config: &Value) -> Result<InitializerArg, String> {
    let name = snake(class);
    let spec = match name.as_str() {
        "constant" => Initializer::Constant {
            value: num(config, "value", 0.0),
        },
        "orthogonal" => Initializer::Orthogonal {
            gain: num(config, "gain", 1.0),
        },
        "random_normal" => Initializer::RandomNormal {
            mean: num(config, "mean", 0.0),
            stddev: num(config, "stddev", 0.05),
        },
        "random_uniform" => Initializer::RandomUniform {
            minval: num(config, "minval", -0.05),
            maxval: num(config, "maxval", 0.05),
        },
        "truncated_normal" => Initializer::TruncatedNormal {
            mean: num(config, "mean", 0.0),
            stddev: num(config, "stddev", 0.05),
        },
        _ => {
            let arg = InitializerArg::Name(name);
            arg.resolve().map_err(|e| e.to_string())?;
            return Ok(arg);
        }
    };
    Ok(InitializerArg::Spec(spec))
}

/// A regularizer from its Keras class (`L1`, `L2`, `L1L2`) or name.
pub(crate) fn regularizer(class: &str, config: &Value) -> Result<Regularizer, String> {
    Ok(match class {
        "L1" => Regularizer::L1 {
            l1: num(config, "l1", 0.01),
        },
        "L2" => Regularizer::L2 {
            l2: num(config, "l2", 0.01),
        },
        "L1L2" => Regularizer::L1L2 {
            l1: num(config, "l1", 0.0),
            l2: num(config, "l2", 0.0),
        },
        name => Regularizer::from_name(name).map_err(|e| e.to_string())?,
    })
}

/// A constraint from its Keras class (`MaxNorm`, …) or name.
pub(crate) fn constraint(class: &str, config: &Value) -> Result<ConstraintArg, String> {
    Ok(match class {
        "MaxNorm" => ConstraintArg::MaxNorm {
            max_value: num(config, "max_value", 2.0),
            axis: axes(config),
        },
        "NonNeg" => ConstraintArg::NonNeg,
        "UnitNorm" => ConstraintArg::UnitNorm { axis: axes(config) },
        "MinMaxNorm" => ConstraintArg::MinMaxNorm {
            min_value: num(config, "min_value", 0.0),
            max_value: num(config, "max_value", 1.0),
            rate: num(config, "rate", 1.0),
            axis: axes(config),
        },
        name => ConstraintArg::from_name(name).map_err(|e| e.to_string())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_become_keras_names() {
        assert_eq!(snake("GlorotUniform"), "glorot_uniform");
        assert_eq!(snake("HeNormal"), "he_normal");
        assert_eq!(snake("glorot_uniform"), "glorot_uniform");
        assert!(initializer("Orthogonalish", &Value::Null).is_err());
    }
}
