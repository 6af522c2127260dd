//! Reading one layer's Keras `config` dict, argument by argument, with errors that name
//! the layer class and the argument.

use crate::constraints::ConstraintArg;
use crate::error::{KilnError, Result};
use crate::initializers::InitializerArg;
use crate::regularizers::Regularizer;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// A Keras layer config (`{"units": 4, "activation": "relu", …}`) being read.
///
/// Every getter returns `Ok(None)` when the argument is absent or `null` (the layer keeps
/// its Keras default) and an error naming the class and argument when it has the wrong
/// type. The keys read are remembered, so [`KerasConfig::unread`] lists the arguments a
/// layer did not understand.
pub struct KerasConfig<'a> {
    class: &'a str,
    map: &'a Map<String, Value>,
    read: RefCell<BTreeSet<String>>,
}

impl<'a> KerasConfig<'a> {
    /// Wraps the config of a layer of `class`; it must be a JSON object.
    pub fn new(class: &'a str, config: &'a Value) -> Result<Self> {
        let map = config.as_object().ok_or_else(|| KilnError::Keras {
            class: class.to_string(),
            message: format!("the config must be an object, received {config}"),
        })?;
        Ok(KerasConfig {
            class,
            map,
            read: RefCell::new(BTreeSet::new()),
        })
    }

    /// The layer class.
    pub fn class(&self) -> &str {
        self.class
    }

    /// An error about argument `key`.
    pub fn error(&self, key: &str, message: impl std::fmt::Display) -> KilnError {
        KilnError::Keras {
            class: self.class.to_string(),
            message: format!("argument `{key}`: {message}"),
        }
    }

    /// The raw value of `key`, if present and not `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.read.borrow_mut().insert(key.to_string());
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The keys present with a value (not `null`) that no getter asked for. A `null`
    /// argument is Keras's "not set", the same as leaving it out.
    pub fn unread(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.map
            .iter()
            .filter(|(k, v)| !v.is_null() && !read.contains(*k))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A non-negative integer.
    pub fn usize(&self, key: &str) -> Result<Option<usize>> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| self.error(key, format!("expected a non-negative integer, received {v}")))
            })
            .transpose()
    }

    /// An integer (negative axes allowed).
    pub fn i64(&self, key: &str) -> Result<Option<i64>> {
        self.get(key)
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| self.error(key, format!("expected an integer, received {v}")))
            })
            .transpose()
    }

    /// A number.
    pub fn f32(&self, key: &str) -> Result<Option<f32>> {
        self.get(key)
            .map(|v| {
                v.as_f64()
                    .map(|x| x as f32)
                    .ok_or_else(|| self.error(key, format!("expected a number, received {v}")))
            })
            .transpose()
    }

    /// A boolean.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| self.error(key, format!("expected true or false, received {v}")))
            })
            .transpose()
    }

    /// A string.
    pub fn string(&self, key: &str) -> Result<Option<String>> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.error(key, format!("expected a string, received {v}")))
            })
            .transpose()
    }

    /// One integer for every axis, or a list of `rank` integers.
    pub fn sizes(&self, key: &str, rank: usize) -> Result<Option<Vec<usize>>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        if let Some(n) = v.as_u64() {
            return Ok(Some(vec![n as usize; rank]));
        }
        let list = v
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_u64().map(|n| n as usize))
                    .collect::<Option<Vec<_>>>()
            })
            .filter(|l| l.len() == rank)
            .ok_or_else(|| {
                self.error(
                    key,
                    format!("expected an integer or a list of {rank} integers, received {v}"),
                )
            })?;
        Ok(Some(list))
    }

    /// A list of integers (or one integer).
    pub fn i64s(&self, key: &str) -> Result<Option<Vec<i64>>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        if let Some(n) = v.as_i64() {
            return Ok(Some(vec![n]));
        }
        v.as_array()
            .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
            .map(Some)
            .ok_or_else(|| self.error(key, format!("expected a list of integers, received {v}")))
    }

    /// A nested object `{"class_name"|"class": …, "config": {…}}` as `(class, config)`.
    pub fn object(&self, key: &str) -> Result<Option<(String, &'a Value)>> {
        let Some(v) = self.get(key) else { return Ok(None) };
        if let Some(s) = v.as_str() {
            return Ok(Some((s.to_string(), &Value::Null)));
        }
        let class = v
            .get("class_name")
            .or_else(|| v.get("class"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                self.error(
                    key,
                    format!("expected a name or a {{\"class_name\", \"config\"}} object, received {v}"),
                )
            })?;
        Ok(Some((class.to_string(), v.get("config").unwrap_or(&Value::Null))))
    }

    /// An activation by name (a serialized activation function gives its name too).
    pub fn activation(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .object(key)?
            .map(|(name, config)| config.as_str().map(str::to_string).unwrap_or(name)))
    }

    /// An initializer by name or as a serialized object.
    pub fn initializer(&self, key: &str) -> Result<Option<InitializerArg>> {
        let Some((class, config)) = self.object(key)? else {
            return Ok(None);
        };
        super::objects::initializer(&class, config)
            .map(Some)
            .map_err(|m| self.error(key, m))
    }

    /// A regularizer (`"l2"` or `{"class_name": "L2", "config": {"l2": 0.01}}`).
    pub fn regularizer(&self, key: &str) -> Result<Option<Regularizer>> {
        let Some((class, config)) = self.object(key)? else {
            return Ok(None);
        };
        super::objects::regularizer(&class, config)
            .map(Some)
            .map_err(|m| self.error(key, m))
    }

    /// A constraint (`"non_neg"` or `{"class_name": "MaxNorm", "config": {…}}`).
    pub fn constraint(&self, key: &str) -> Result<Option<ConstraintArg>> {
        let Some((class, config)) = self.object(key)? else {
            return Ok(None);
        };
        super::objects::constraint(&class, config)
            .map(Some)
            .map_err(|m| self.error(key, m))
    }
}
