//! Reading plain JavaScript values into the core's types: a serde `Deserializer` over
//! `JsValue`, used for every argument and stored record the module reads.
//!
//! serde-wasm-bindgen (still used for the other direction) reads values the same way,
//! but its errors describe the offending value with serde's `Unexpected`, whose
//! formatting of numbers and quoted strings links core's float printing and Unicode
//! escape tables into the module — about a sixth of it. Errors here name the kind of
//! value instead ("a number with a fraction", "a string") and where it was
//! (`session.expires_at: …`), which is what a storefront developer needs.
//!
//! Semantics follow serde-wasm-bindgen: a struct reads the fields it declares and takes
//! `undefined` as absent; `null` and `undefined` are `None`; numbers that are safe
//! integers are integers; an enum is its variant name.

use std::{cell::RefCell, fmt};

use js_sys::{Array, Number, Object, Reflect};
use serde::de::{
    self, value::StringDeserializer, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer,
    MapAccess, SeqAccess, Unexpected, Visitor,
};
use wasm_bindgen::{JsCast, JsValue};

/// Reads `value` as a `T`.
pub(crate) fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, Error> {
    T::deserialize(Js(value))
}

/// Why a value could not be read, and where.
#[derive(Debug)]
pub(crate) struct Error {
    path: String,
    message: String,
}

impl Error {
    /// The same error, one level further out (`field` or `[index]`).
    fn within(mut self, step: &str) -> Error {
        if self.path.is_empty() || self.path.starts_with('[') {
            self.path.insert_str(0, step);
        } else {
            self.path.insert(0, '.');
            self.path.insert_str(0, step);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for Error {}

/// The kind of an unexpected value, without printing the value itself.
fn kind<'a>(unexpected: &Unexpected<'a>) -> &'a str {
    match unexpected {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a number with a fraction",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Unit | Unexpected::Option => "null",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        Unexpected::Other(other) => other,
        _ => "another kind of value",
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Error {
            path: String::new(),
            message: message.to_string(),
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Error::custom(format_args!(
            "expected {expected}, found {}",
            kind(&unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        let numeric = matches!(
            unexpected,
            Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_)
        );
        let what = if numeric {
            "out of range"
        } else {
            "that is not valid here"
        };
        Error::custom(format_args!(
            "expected {expected}, found {} {what}",
            kind(&unexpected)
        ))
    }
}

/// Field names as JavaScript strings, made once per name (serde's names are static).
fn field_key(name: &'static str) -> JsValue {
    thread_local! {
        static KEYS: RefCell<Vec<(usize, JsValue)>> = const { RefCell::new(Vec::new()) };
    }
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        let id = name.as_ptr() as usize;
        if let Some((_, key)) = keys.iter().find(|(k, _)| *k == id) {
            return key.clone();
        }
        let key = JsValue::from_str(name);
        keys.push((id, key.clone()));
        key
    })
}

/// A JavaScript value being read.
struct Js<'a>(&'a JsValue);

impl Js<'_> {
    fn unexpected(&self) -> Unexpected<'static> {
        let v = self.0;
        if v.is_null() || v.is_undefined() {
            Unexpected::Unit
        } else if v.as_bool().is_some() {
            Unexpected::Bool(false)
        } else if v.as_f64().is_some() {
            Unexpected::Other("a number")
        } else if v.is_string() {
            Unexpected::Str("")
        } else if Array::is_array(v) {
            Unexpected::Seq
        } else if v.is_object() {
            Unexpected::Map
        } else {
            Unexpected::Other("a value JSON cannot hold")
        }
    }

    fn refuse<T>(&self, expected: &dyn Expected) -> Result<T, Error> {
        Err(de::Error::invalid_type(self.unexpected(), expected))
    }
}

impl<'de> de::Deserializer<'de> for Js<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = self.0;
        if v.is_null() || v.is_undefined() {
            visitor.visit_unit()
        } else if let Some(b) = v.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = v.as_f64() {
            if Number::is_safe_integer(v) {
                if n >= 0.0 {
                    visitor.visit_u64(n as u64)
                } else {
                    visitor.visit_i64(n as i64)
                }
            } else {
                visitor.visit_f64(n)
            }
        } else if let Some(s) = v.as_string() {
            visitor.visit_string(s)
        } else if Array::is_array(v) {
            visitor.visit_seq(Items::new(v.unchecked_ref()))
        } else if v.is_object() {
            let keys = Object::keys(v.unchecked_ref::<Object>());
            visitor.visit_map(Entries {
                object: v,
                keys,
                next: 0,
                value: None,
            })
        } else {
            self.refuse(&visitor)
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_unit()
        } else {
            self.refuse(&visitor)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if Array::is_array(self.0) {
            visitor.visit_seq(Items::new(self.0.unchecked_ref()))
        } else {
            self.refuse(&visitor)
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if self.0.is_object() && !Array::is_array(self.0) {
            visitor.visit_map(Fields {
                object: self.0,
                fields: fields.iter(),
                value: None,
            })
        } else {
            self.refuse(&visitor)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0.as_string() {
            Some(name) => {
                let name: StringDeserializer<Error> = name.into_deserializer();
                visitor.visit_enum(name)
            }
            None => self.refuse(&visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit_struct tuple tuple_struct map identifier
    }
}

/// The elements of an array.
struct Items<'a> {
    array: &'a Array,
    next: u32,
    len: u32,
}

impl<'a> Items<'a> {
    fn new(array: &'a Array) -> Self {
        Items {
            array,
            next: 0,
            len: array.length(),
        }
    }
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.next == self.len {
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let item = self.array.get(index);
        seed.deserialize(Js(&item))
            .map(Some)
            .map_err(|e| e.within(&format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.len - self.next) as usize)
    }
}

/// A struct's declared fields, read by name; `undefined` is absent.
struct Fields<'a> {
    object: &'a JsValue,
    fields: std::slice::Iter<'static, &'static str>,
    value: Option<(&'static str, JsValue)>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for &field in self.fields.by_ref() {
            let value = Reflect::get(self.object, &field_key(field))
                .map_err(|_| de::Error::custom(format_args!("{field} cannot be read")))?;
            if !value.is_undefined() {
                self.value = Some((field, value));
                let key: de::value::BorrowedStrDeserializer<'_, Error> =
                    de::value::BorrowedStrDeserializer::new(field);
                return seed.deserialize(key).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let (field, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value was read before its key"))?;
        seed.deserialize(Js(&value)).map_err(|e| e.within(field))
    }
}

/// Every own enumerable property of an object (for maps and untyped reads).
struct Entries<'a> {
    object: &'a JsValue,
    keys: Array,
    next: u32,
    value: Option<(String, JsValue)>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.next == self.keys.length() {
            return Ok(None);
        }
        let key = self.keys.get(self.next);
        self.next += 1;
        let value = Reflect::get(self.object, &key)
            .map_err(|_| de::Error::custom("a property cannot be read"))?;
        let name = key.as_string().unwrap_or_default();
        self.value = Some((name.clone(), value));
        let key: StringDeserializer<Error> = name.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let (name, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value was read before its key"))?;
        seed.deserialize(Js(&value)).map_err(|e| e.within(&name))
    }
}
