//! The server-function client: the browser's, plus the CSRF header on every call (read from
//! the CSRF cookie at call time, so a new sign-in applies at once). On the server, which never
//! sends server-function requests, it is the plain browser client.

#[cfg(not(feature = "hydrate"))]
pub type CsrfClient = leptos::server_fn::client::browser::BrowserClient;

#[cfg(feature = "hydrate")]
pub use browser::CsrfClient;

#[cfg(feature = "hydrate")]
mod browser {
    use futures::{Sink, Stream};
    use leptos::server_fn::Bytes;
    use leptos::server_fn::client::Client;
    use leptos::server_fn::client::browser::BrowserClient;
    use leptos::server_fn::error::FromServerFnError;
    use leptos::server_fn::request::browser::BrowserRequest;
    use leptos::server_fn::response::browser::BrowserResponse;

    use crate::auth::{CSRF_COOKIE, CSRF_HEADER, cookie_value};

    /// See the module documentation.
    pub struct CsrfClient;

    impl<E, IS, OS> Client<E, IS, OS> for CsrfClient
    where
        E: FromServerFnError,
        IS: FromServerFnError,
        OS: FromServerFnError,
    {
        type Request = BrowserRequest;
        type Response = BrowserResponse;

        fn send(
            request: BrowserRequest,
        ) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
            if let Some(token) = csrf_token() {
                request.headers().set(CSRF_HEADER, &token);
            }
            <BrowserClient as Client<E, IS, OS>>::send(request)
        }

        fn open_websocket(
            path: &str,
        ) -> impl Future<
            Output = Result<
                (
                    impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                    impl Sink<Bytes> + Send + 'static,
                ),
                E,
            >,
        > + Send {
            <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
        }

        fn spawn(future: impl Future<Output = ()> + Send + 'static) {
            <BrowserClient as Client<E, IS, OS>>::spawn(future);
        }
    }

    fn csrf_token() -> Option<String> {
        let document = web_sys::window()?.document()?;
        let cookies = js_sys::Reflect::get(&document, &"cookie".into())
            .ok()?
            .as_string()?;
        cookie_value(&cookies, CSRF_COOKIE).map(str::to_owned)
    }
}
