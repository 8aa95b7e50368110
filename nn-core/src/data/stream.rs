//! Streamed data: sources that hand out rows a batch at a time, so that training and scoring read
//! files bigger than memory at constant memory.
//!
//! A [`Source`] fills buffers the caller owns (no allocation per batch, as `embedded-hal`'s
//! `read(&mut [u8])`), knows how to start over ([`Source::rewind`], once per epoch) and may say
//! how far it has come ([`Source::rows_hint`], [`Source::bytes_hint`]) for a progress bar.
//! [`Dataset::source`] streams data already in memory through the same interface.

use std::prelude::rust_2021::*;

use super::{Dataset, Target};

/// Rows of `N` features and a target each, read in file order into buffers the caller owns.
///
/// # Contract
/// - **Reads.** [`read`](Source::read) fills the first `n` rows of `features` and of `targets`
///   (`n ≤ min(features.len(), targets.len())`) with the next rows and returns `Ok(n)`. A *short
///   read* (`0 < n` below the buffers' length) is allowed anywhere — at a row group's end, say —
///   and does not mean the end: only `Ok(0)` for non-empty buffers does. Once a pass has ended,
///   `read` keeps returning `Ok(0)` until [`rewind`](Source::rewind). Rows beyond `n` in the
///   buffers are left as they were or overwritten: callers must not read them.
/// - **Order.** Rows come in the order of the file (or of the data set), every row once per pass:
///   nothing reorders, repeats or silently drops rows. Shuffling is the consumer's job (`Fit`
///   shuffles with a bounded buffer). A source may *skip* invalid rows only when its user asked
///   for that, and then counts them in [`skipped`](Source::skipped).
/// - **Errors.** An `Err` ends the pass: the rows returned before it stay valid, and the source
///   gives no more rows until it is rewound (a further `read` returns an error again or `Ok(0)`,
///   never rows). Errors about the data say where — file, 1-based line (counting a header) and
///   column for text files, as [`DataError::Row`](super::DataError::Row) does:
///   `big.csv:123457: column 2: "abc" is not a number`.
/// - **Epochs.** [`rewind`](Source::rewind) starts the next pass from the first row, also after an
///   error or in the middle of a pass; a file is re-read (and may have changed: each source
///   documents what it does then).
///
/// The trait is object safe for a given target and error type, and `&mut S` is a source too.
///
/// ```
/// use nn_core::data::{Dataset, Source};
/// let data = Dataset::from_vecs(vec![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], vec![0, 1, 0])?;
/// let mut rows = data.source();
/// let (mut x, mut t) = ([[0.0; 2]; 2], [0usize; 2]);
/// assert_eq!(rows.read(&mut x, &mut t)?, 2);
/// assert_eq!((x, t), ([[1.0, 2.0], [3.0, 4.0]], [0, 1]));
/// assert_eq!(rows.read(&mut x, &mut t)?, 1); // a short read: the last row
/// assert_eq!((x[0], t[0]), ([5.0, 6.0], 0));
/// assert_eq!(rows.read(&mut x, &mut t)?, 0); // the end of the pass
/// rows.rewind()?; // the next epoch
/// assert_eq!(rows.read(&mut x, &mut t)?, 2);
/// assert_eq!(rows.rows_hint(), Some(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Source<const N: usize> {
    /// What each row is labelled with: a class (`usize`) or a float vector (`[f32; M]`).
    type Target: Target;
    /// Why a read or rewind failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Reads the next rows into the front of `features` and `targets` and returns how many
    /// (`Ok(0)`: the pass is over); see the contract above.
    fn read(
        &mut self,
        features: &mut [[f32; N]],
        targets: &mut [Self::Target],
    ) -> Result<usize, Self::Error>;

    /// Starts again from the first row (the next epoch).
    fn rewind(&mut self) -> Result<(), Self::Error>;

    /// The number of rows in a whole pass, if known before reading them (the length of a data
    /// set, a Parquet file's metadata); `None` when only reading to the end can tell (CSV).
    /// Rows skipped as invalid are not counted out of it.
    fn rows_hint(&self) -> Option<u64> {
        None
    }

    /// How far the current pass is through the underlying bytes (CSV: bytes of the file read,
    /// compressed bytes for a gzip file), for a progress bar when the row count is unknown.
    fn bytes_hint(&self) -> Option<ByteProgress> {
        None
    }

    /// Invalid rows skipped so far in this pass (0 unless the source was asked to skip them).
    fn skipped(&self) -> u64 {
        0
    }

    /// Passes over the next `n` rows without returning them; returns how many there were (fewer
    /// than `n` only at the end of the pass). The default reads them through a small buffer (a
    /// CSV file must be parsed to find its rows); a source that can seek (a mapped IDX file, a
    /// Parquet file's row groups) skips without reading.
    ///
    /// ```
    /// use nn_core::data::{Dataset, Source};
    /// let data = Dataset::from_vecs((0..5).map(|i| [i as f32]).collect(), vec![0; 5])?;
    /// let mut rows = data.source();
    /// assert_eq!(rows.skip_rows(3)?, 3);
    /// let (mut x, mut t) = ([[0.0]; 4], [0; 4]);
    /// assert_eq!(rows.read(&mut x, &mut t)?, 2);
    /// assert_eq!(x[0], [3.0]);
    /// assert_eq!(rows.skip_rows(1)?, 0); // the end
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn skip_rows(&mut self, n: u64) -> Result<u64, Self::Error> {
        const SCRATCH: usize = 256;
        // On the heap: 256 rows of a wide `N` (an image) would be a large stack frame.
        #[allow(clippy::useless_vec)]
        let mut x = vec![[0.0f32; N]; SCRATCH];
        let mut t = vec![Self::Target::empty(); SCRATCH];
        let mut done = 0u64;
        while done < n {
            let want = (n - done).min(SCRATCH as u64) as usize;
            match self.read(&mut x[..want], &mut t[..want])? {
                0 => break,
                got => done += got as u64,
            }
        }
        Ok(done)
    }
}

/// The number of rows in a pass of `source`: [`Source::rows_hint`] if it knows, else by reading
/// a whole pass (and rewinding before and after), which for a CSV file costs a parse of it.
///
/// ```
/// use nn_core::data::{count_rows, Dataset};
/// let data = Dataset::from_vecs(vec![[0.0f32]; 7], vec![1; 7])?;
/// assert_eq!(count_rows(&mut data.source())?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn count_rows<const N: usize, S: Source<N>>(source: &mut S) -> Result<u64, S::Error> {
    if let Some(rows) = source.rows_hint() {
        return Ok(rows);
    }
    source.rewind()?;
    let rows = source.skip_rows(u64::MAX)?;
    source.rewind()?;
    Ok(rows)
}

/// A window of another source's rows: [`skip`](Rows::skip) the first ones,
/// [`take`](Rows::take) at most so many of the rest. Used to hold out rows by position (HIGGS'
/// test set is its last 500,000 rows: [`split_last`]) without loading either part.
///
/// ```
/// use nn_core::data::{Dataset, Rows, Source};
/// let data = Dataset::from_vecs((0..10).map(|i| [i as f32]).collect(), vec![0; 10])?;
/// let mut middle = Rows::new(data.source()).skip(2).take(3);
/// let (mut x, mut t) = ([[0.0]; 8], [0; 8]);
/// assert_eq!(middle.read(&mut x, &mut t)?, 3);
/// assert_eq!(x[..3], [[2.0], [3.0], [4.0]]);
/// assert_eq!(middle.read(&mut x, &mut t)?, 0);
/// assert_eq!(middle.rows_hint(), Some(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rows<S> {
    source: S,
    skip: u64,
    take: u64,
    /// The source's row count when it cannot say itself ([`Rows::total`]).
    total: Option<u64>,
    /// Rows returned in this pass, and whether the first `skip` have been passed over.
    given: u64,
    skipped_head: bool,
}

impl<S> Rows<S> {
    /// All the rows of `source`.
    pub fn new(source: S) -> Self {
        Rows {
            source,
            skip: 0,
            take: u64::MAX,
            total: None,
            given: 0,
            skipped_head: false,
        }
    }

    /// Leaves out the first `n` rows (of the rows this window would give).
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = self.skip.saturating_add(n);
        self
    }

    /// Gives at most `n` rows.
    pub fn take(mut self, n: u64) -> Self {
        self.take = self.take.min(n);
        self
    }

    /// Tells the window how many rows the whole source has, when the source cannot say (a CSV
    /// file counted by [`count_rows`]), so that [`rows_hint`](Source::rows_hint) — and with it
    /// `Fit`'s progress bar — counts rows rather than bytes. Only a hint: the rows read are
    /// still whatever the file holds. A source that knows its count is believed over this.
    ///
    /// ```
    /// use nn_core::data::{Csv, Rows, Source};
    /// # let path = std::env::temp_dir().join(format!("rows-total-{}.csv", std::process::id()));
    /// std::fs::write(&path, "1,0.5\n0,0.25\n1,0.75\n")?;
    /// let csv = Csv::new().header(false).label(0).stream::<1, usize>(&path)?;
    /// assert_eq!(csv.rows_hint(), None); // a CSV file does not know before reading
    /// let train = Rows::new(csv).total(3).take(2);
    /// assert_eq!(train.rows_hint(), Some(2));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total(mut self, rows: u64) -> Self {
        self.total = Some(rows);
        self
    }

    /// The source inside.
    pub fn into_inner(self) -> S {
        self.source
    }
}

impl<const N: usize, S: Source<N>> Source<N> for Rows<S> {
    type Target = S::Target;
    type Error = S::Error;

    fn read(
        &mut self,
        features: &mut [[f32; N]],
        targets: &mut [Self::Target],
    ) -> Result<usize, Self::Error> {
        if !self.skipped_head {
            self.source.skip_rows(self.skip)?;
            self.skipped_head = true;
        }
        let left = usize::try_from(self.take - self.given).unwrap_or(usize::MAX);
        let n = features.len().min(targets.len()).min(left);
        if n == 0 {
            return Ok(0);
        }
        let got = self.source.read(&mut features[..n], &mut targets[..n])?;
        self.given += got as u64;
        Ok(got)
    }

    fn rewind(&mut self) -> Result<(), Self::Error> {
        (self.given, self.skipped_head) = (0, false);
        self.source.rewind()
    }

    fn rows_hint(&self) -> Option<u64> {
        let rows = self.source.rows_hint().or(self.total)?;
        Some(rows.saturating_sub(self.skip).min(self.take))
    }

    fn bytes_hint(&self) -> Option<ByteProgress> {
        self.source.bytes_hint()
    }

    fn skipped(&self) -> u64 {
        self.source.skipped()
    }
}

/// Splits a file into its first rows and its last `n`, as HIGGS' convention (the last 500,000
/// rows are the test set), from two sources on the same file (opened twice: each part is read
/// on its own, neither is loaded). The row count comes from [`count_rows`]: for a CSV file, one
/// pass of parsing now, after which both parts know their row counts ([`Rows::total`]). If `n`
/// is more than the rows there are, the first part is empty (and training says it has too few
/// rows).
///
/// ```
/// use nn_core::data::{split_last, Dataset, Source};
/// let data = Dataset::from_vecs((0..10).map(|i| [i as f32]).collect(), vec![0; 10])?;
/// let (mut train, mut test) = split_last(data.source(), data.source(), 4)?;
/// assert_eq!((train.rows_hint(), test.rows_hint()), (Some(6), Some(4)));
/// let (mut x, mut t) = ([[0.0]; 8], [0; 8]);
/// assert_eq!(test.read(&mut x, &mut t)?, 4);
/// assert_eq!(x[0], [6.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn split_last<const N: usize, S: Source<N>>(
    mut first: S,
    last: S,
    n: u64,
) -> Result<(Rows<S>, Rows<S>), S::Error> {
    let total = count_rows(&mut first)?;
    let at = total.saturating_sub(n);
    Ok((
        Rows::new(first).total(total).take(at),
        Rows::new(last).total(total).skip(at),
    ))
}

/// How many of a file's bytes a pass has read: [`Source::bytes_hint`].
///
/// ```
/// use nn_core::data::ByteProgress;
/// let p = ByteProgress { read: 250, total: Some(1000) };
/// assert_eq!(p.fraction(), Some(0.25));
/// assert_eq!(ByteProgress { read: 5, total: None }.fraction(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteProgress {
    /// Bytes read so far in this pass.
    pub read: u64,
    /// The file's size, if known (not for a pipe).
    pub total: Option<u64>,
}

impl ByteProgress {
    /// `read / total`, at most 1, if the total is known and not 0.
    pub fn fraction(&self) -> Option<f64> {
        match self.total {
            Some(total) if total > 0 => Some((self.read as f64 / total as f64).min(1.0)),
            _ => None,
        }
    }
}

impl<const N: usize, S: Source<N> + ?Sized> Source<N> for &mut S {
    type Target = S::Target;
    type Error = S::Error;

    fn read(
        &mut self,
        features: &mut [[f32; N]],
        targets: &mut [Self::Target],
    ) -> Result<usize, Self::Error> {
        (**self).read(features, targets)
    }

    fn rewind(&mut self) -> Result<(), Self::Error> {
        (**self).rewind()
    }

    fn rows_hint(&self) -> Option<u64> {
        (**self).rows_hint()
    }

    fn bytes_hint(&self) -> Option<ByteProgress> {
        (**self).bytes_hint()
    }

    fn skipped(&self) -> u64 {
        (**self).skipped()
    }
}

/// A [`Dataset`] in memory as a [`Source`]: its rows in order, copied into the caller's buffers;
/// made by [`Dataset::source`]. It never fails (its error type is
/// [`Infallible`](core::convert::Infallible)).
///
/// ```
/// use nn_core::data::{Dataset, Source};
/// let data = Dataset::from_vecs(vec![[0.5f32]; 10], vec![[1.0f32]; 10])?;
/// let mut rows = data.source();
/// let (mut x, mut t) = ([[0.0; 1]; 4], [[0.0; 1]; 4]);
/// let mut total = 0;
/// while let n @ 1.. = rows.read(&mut x, &mut t)? {
///     total += n;
/// }
/// assert_eq!(total, 10);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DatasetSource<'a, const N: usize, T = usize> {
    data: &'a Dataset<N, T>,
    next: usize,
}

impl<const N: usize, T: Target> Dataset<N, T> {
    /// Streams the data set's rows in order through the [`Source`] interface, e.g. to train with
    /// the same code path as a file, or to test a file source against the same rows in memory.
    ///
    /// ```
    /// use nn_core::data::{Dataset, Source};
    /// let data = Dataset::from_vecs(vec![[1.0f32], [2.0]], vec![0, 1])?;
    /// assert_eq!(data.source().rows_hint(), Some(2));
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn source(&self) -> DatasetSource<'_, N, T> {
        DatasetSource {
            data: self,
            next: 0,
        }
    }
}

impl<const N: usize, T: Target> Source<N> for DatasetSource<'_, N, T> {
    type Target = T;
    type Error = core::convert::Infallible;

    fn read(&mut self, features: &mut [[f32; N]], targets: &mut [T]) -> Result<usize, Self::Error> {
        let rest = self.data.len() - self.next;
        let n = rest.min(features.len()).min(targets.len());
        let range = self.next..self.next + n;
        features[..n].copy_from_slice(&self.data.features()[range.clone()]);
        targets[..n].clone_from_slice(&self.data.targets()[range]);
        self.next += n;
        Ok(n)
    }

    fn rewind(&mut self) -> Result<(), Self::Error> {
        self.next = 0;
        Ok(())
    }

    fn rows_hint(&self) -> Option<u64> {
        Some(self.data.len() as u64)
    }

    fn skip_rows(&mut self, n: u64) -> Result<u64, Self::Error> {
        let rest = (self.data.len() - self.next) as u64;
        let n = n.min(rest);
        self.next += n as usize;
        Ok(n)
    }
}
