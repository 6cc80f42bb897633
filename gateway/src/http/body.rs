//! Reading a request body with a size cap and a deadline, and its declared media type.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the cap (HTTP 413).
    TooLarge,
    /// Not complete before the deadline (HTTP 408).
    Timeout,
    /// The connection failed.
    Broken,
}

/// Reads the whole body, refusing more than `cap` bytes or taking longer than `timeout`.
pub async fn read_capped<S, B, E>(
    declared_len: Option<u64>,
    stream: S,
    cap: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    if declared_len.is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let read = async {
        let mut out =
            BytesMut::with_capacity(declared_len.map(|n| n as usize).unwrap_or(4096).min(cap));
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let mut chunk = chunk.map_err(|_| BodyError::Broken)?;
            if out.len() + chunk.remaining() > cap {
                return Err(BodyError::TooLarge);
            }
            while chunk.has_remaining() {
                let part = chunk.chunk();
                out.extend_from_slice(part);
                let n = part.len();
                chunk.advance(n);
            }
        }
        Ok(out.freeze())
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

/// The media type of the Content-Type header, lower-cased, without parameters: `None` when
/// there is no header, `Some("")` when it is not text.
pub(super) fn media_type(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(http::header::CONTENT_TYPE)?;
    let Ok(value) = value.to_str() else {
        return Some(String::new());
    };
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, ()>> {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn caps_declared_and_streamed_sizes() {
        let t = Duration::from_secs(1);
        assert_eq!(
            read_capped(Some(3), chunks(&[b"ab", b"c"]), 3, t)
                .await
                .unwrap(),
            Bytes::from_static(b"abc")
        );
        assert_eq!(
            read_capped(Some(4), chunks(&[]), 3, t).await,
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            read_capped(None, chunks(&[b"ab", b"cd"]), 3, t).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_slow_bodies() {
        let slow = stream::once(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, ()>(Bytes::from_static(b"late"))
        });
        assert_eq!(
            read_capped(None, slow, 100, Duration::from_secs(5)).await,
            Err(BodyError::Timeout)
        );
    }
}
