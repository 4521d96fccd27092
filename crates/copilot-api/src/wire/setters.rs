//! `setters!`: the builder setters of the request types, the per-call options and the SSE limits.

/// Writes a type's builder setters, one `pub fn name(mut self, value) -> Self` per line, so each type
/// lists which fields it can set (the chat, Messages and Responses requests, the per-call
/// [`RequestOptions`](crate::RequestOptions) and [`SseLimits`](crate::sse::SseLimits) share the forms):
/// - `name: T` sets `Some(value)`;
/// - `name: into T` takes `impl Into<T>` and sets `Some(value.into())`;
/// - `name = T` sets the value itself (a list, which is empty rather than absent);
/// - `name = into T` takes `impl Into<T>` and sets `value.into()` itself (e.g. `impl Into<Option<u64>>`,
///   so both `.cap(n)` and `.cap(None)` read naturally);
/// - `name: iter into T` takes `impl IntoIterator<Item = impl Into<T>>` and sets `Some` of the list, and
///   `name = iter into T` sets the list itself;
/// - `extra(key, value)` writes `extra`, which adds a body field the type does not model to its `extra` map.
macro_rules! setters {
    () => {};
    ($(#[$doc:meta])* extra(key, value) $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn extra(
            mut self,
            key: impl Into<String>,
            value: impl Into<serde_json::Value>,
        ) -> Self {
            self.extra.insert(key.into(), value.into());
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
    ($(#[$doc:meta])* $name:ident : iter into $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn $name(mut self, values: impl IntoIterator<Item = impl Into<$ty>>) -> Self {
            self.$name = Some(values.into_iter().map(Into::into).collect());
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
    ($(#[$doc:meta])* $name:ident = iter into $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn $name(mut self, values: impl IntoIterator<Item = impl Into<$ty>>) -> Self {
            self.$name = values.into_iter().map(Into::into).collect();
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
    ($(#[$doc:meta])* $name:ident : into $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.$name = Some(value.into());
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
    ($(#[$doc:meta])* $name:ident : $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = Some(value);
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
    ($(#[$doc:meta])* $name:ident = into $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.$name = value.into();
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
    ($(#[$doc:meta])* $name:ident = $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
        $crate::wire::setters::setters! { $($($rest)*)? }
    };
}

pub(crate) use setters;
