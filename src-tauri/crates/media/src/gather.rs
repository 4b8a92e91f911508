//! Gathered writes: a file's next bytes queued as pieces (small headers copied into one
//! buffer, frame payloads by reference) and handed to the kernel with `writev`. Media is copied
//! once, into the page cache, and no per-file write buffer is held: with hundreds of streams,
//! a buffer per open file is most of the engine's memory.

use std::fs::File;
use std::io::{self, IoSlice, Write};

use bytes::Bytes;

/// Bytes queued for one file, in order.
#[derive(Default)]
pub struct Gather {
    heads: Vec<u8>,
    /// Each body, with the end of the head bytes that precede it in `heads`.
    bodies: Vec<(usize, Bytes)>,
    queued: usize,
}

impl Gather {
    /// Queues a small piece (a header), copied.
    pub fn head(&mut self, bytes: &[u8]) {
        self.heads.extend_from_slice(bytes);
        self.queued += bytes.len();
    }

    /// Queues a payload by reference.
    pub fn body(&mut self, bytes: Bytes) {
        self.queued += bytes.len();
        self.bodies.push((self.heads.len(), bytes));
    }

    /// Bytes queued.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Writes everything queued at the file's position and empties the queue, also on error
    /// (what reached the file stays there: recovery cuts a torn tail).
    pub fn write_to(&mut self, file: &File) -> io::Result<()> {
        let mut slices = Vec::with_capacity(self.bodies.len() * 2 + 1);
        let mut from = 0;
        for (end, body) in &self.bodies {
            if *end > from {
                slices.push(IoSlice::new(&self.heads[from..*end]));
            }
            from = *end;
            slices.push(IoSlice::new(body));
        }
        if self.heads.len() > from {
            slices.push(IoSlice::new(&self.heads[from..]));
        }
        let written = write_all_vectored(file, &mut slices);
        drop(slices);
        self.heads.clear();
        self.bodies.clear();
        self.queued = 0;
        written
    }
}

/// `write_all` for a list of slices (std's `write_all_vectored` is not stable yet).
fn write_all_vectored(mut file: &File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_reach_the_file_in_order_and_the_queue_empties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let mut g = Gather::default();
        g.head(b"ab");
        g.body(Bytes::from_static(b"CDE"));
        g.body(Bytes::new());
        g.body(Bytes::from_static(b"F"));
        g.head(b"gh");
        assert_eq!(g.queued(), 8);
        g.write_to(&file).unwrap();
        assert_eq!(g.queued(), 0);
        g.head(b"i");
        g.write_to(&file).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abCDEFghi");
    }

    #[test]
    fn more_pieces_than_one_writev_takes_are_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let mut g = Gather::default();
        let mut expected = Vec::new();
        for i in 0..5_000u32 {
            g.head(&i.to_be_bytes());
            g.body(Bytes::from(vec![i as u8; (i % 7) as usize]));
            expected.extend_from_slice(&i.to_be_bytes());
            expected.extend(std::iter::repeat_n(i as u8, (i % 7) as usize));
        }
        g.write_to(&file).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }
}
