//! Rows written in bulk: a write transaction's inserts kept column by column in memory and
//! sent as one `INSERT ... SELECT * FROM unnest($1::text[], $2::bigint[], ...)` per table, one
//! round trip for thousands of rows where a statement per row costs one each.
//!
//! `unnest` with several arrays yields their elements side by side, in order, and the
//! `INSERT` takes them in that order: the events reach the `events_contiguous` trigger in
//! seq order, and each row-level trigger sees the rows the statement inserted before it (as
//! PostgreSQL documents for row-level `BEFORE` triggers), so the sequence check holds row by
//! row as with single inserts.

use postgres::types::ToSql;

/// The type of a column, as its array is cast in the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Text,
    Int,
    Bool,
    Bytes,
}

/// One column's values.
#[derive(Debug)]
enum Col {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Col {
    fn new(ty: Ty) -> Col {
        match ty {
            Ty::Text => Col::Text(Vec::new()),
            Ty::Int => Col::Int(Vec::new()),
            Ty::Bool => Col::Bool(Vec::new()),
            Ty::Bytes => Col::Bytes(Vec::new()),
        }
    }

    fn cast(&self) -> &'static str {
        match self {
            Col::Text(_) => "text[]",
            Col::Int(_) => "bigint[]",
            Col::Bool(_) => "boolean[]",
            Col::Bytes(_) => "bytea[]",
        }
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Col::Text(v) => v,
            Col::Int(v) => v,
            Col::Bool(v) => v,
            Col::Bytes(v) => v,
        }
    }

    fn clear(&mut self) {
        match self {
            Col::Text(v) => v.clear(),
            Col::Int(v) => v.clear(),
            Col::Bool(v) => v.clear(),
            Col::Bytes(v) => v.clear(),
        }
    }
}

/// The rows buffered for one table, and the statement that inserts them.
#[derive(Debug)]
pub(super) struct Table {
    sql: String,
    /// `unnest($1::text[], ...)`: the rows as a table, for statements of their own.
    unnest: String,
    cols: Vec<Col>,
    rows: usize,
}

impl Table {
    /// A buffer for `insert` (`INSERT INTO t (a, b, ...)`) of columns of types `types`, in
    /// that order, followed by `tail` (an `ON CONFLICT` clause, or nothing).
    pub(super) fn new(insert: &str, types: &[Ty], tail: &str) -> Table {
        let cols: Vec<Col> = types.iter().map(|&t| Col::new(t)).collect();
        let arrays: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}", i + 1, c.cast()))
            .collect();
        let unnest = format!("unnest({})", arrays.join(", "));
        Table {
            sql: format!("{insert} SELECT * FROM {unnest} {tail}"),
            unnest,
            cols,
            rows: 0,
        }
    }

    /// Starts a row: its values are given in column order, then [`Row::end`].
    pub(super) fn row(&mut self) -> Row<'_> {
        Row { table: self, at: 0 }
    }

    /// How many rows are buffered.
    pub(super) fn len(&self) -> usize {
        self.rows
    }

    /// The statement that inserts the buffered rows.
    pub(super) fn sql(&self) -> &str {
        &self.sql
    }

    /// The buffered rows as a table expression (`unnest($1::text[], ...)`), for a
    /// statement that does more than insert them.
    pub(super) fn unnest(&self) -> &str {
        &self.unnest
    }

    /// Its parameters: one array per column.
    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.cols.iter().map(Col::param).collect()
    }

    /// Forgets the buffered rows (after they were sent).
    pub(super) fn clear(&mut self) {
        self.cols.iter_mut().for_each(Col::clear);
        self.rows = 0;
    }
}

/// One row being added to a [`Table`], column by column.
pub(super) struct Row<'t> {
    table: &'t mut Table,
    at: usize,
}

impl Row<'_> {
    /// The next column's value: its type is checked against the table's in debug builds
    /// (a mismatch is a bug of this module's callers, caught by the tests).
    fn next(&mut self) -> &mut Col {
        let at = self.at;
        self.at += 1;
        &mut self.table.cols[at]
    }

    pub(super) fn text(mut self, v: Option<&str>) -> Self {
        let col = self.next();
        debug_assert!(matches!(col, Col::Text(_)), "text into {}", col.cast());
        if let Col::Text(c) = col {
            c.push(v.map(str::to_string));
        }
        self
    }

    pub(super) fn int(mut self, v: Option<i64>) -> Self {
        let col = self.next();
        debug_assert!(matches!(col, Col::Int(_)), "integer into {}", col.cast());
        if let Col::Int(c) = col {
            c.push(v);
        }
        self
    }

    pub(super) fn bool(mut self, v: bool) -> Self {
        let col = self.next();
        debug_assert!(matches!(col, Col::Bool(_)), "boolean into {}", col.cast());
        if let Col::Bool(c) = col {
            c.push(Some(v));
        }
        self
    }

    pub(super) fn bytes(mut self, v: Option<&[u8]>) -> Self {
        let col = self.next();
        debug_assert!(matches!(col, Col::Bytes(_)), "bytes into {}", col.cast());
        if let Col::Bytes(c) = col {
            c.push(v.map(<[u8]>::to_vec));
        }
        self
    }

    /// Ends the row; every column must have had its value.
    pub(super) fn end(self) {
        debug_assert_eq!(
            self.at,
            self.table.cols.len(),
            "a row of {}",
            self.table.sql
        );
        self.table.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_casts_each_array_to_its_column_type() {
        let t = Table::new(
            "INSERT INTO t (a, b, c, d)",
            &[Ty::Text, Ty::Int, Ty::Bool, Ty::Bytes],
            "ON CONFLICT DO NOTHING",
        );
        assert_eq!(
            t.sql(),
            "INSERT INTO t (a, b, c, d) SELECT * FROM unnest($1::text[], $2::bigint[], $3::boolean[], $4::bytea[]) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn rows_are_kept_column_by_column_and_cleared() {
        let mut t = Table::new("INSERT INTO t (a, b)", &[Ty::Text, Ty::Int], "");
        t.row().text(Some("x")).int(None).end();
        t.row().text(None).int(Some(7)).end();
        assert_eq!(t.len(), 2);
        assert_eq!(t.params().len(), 2);
        match &t.cols[1] {
            Col::Int(v) => assert_eq!(v, &[None, Some(7)]),
            other => panic!("{other:?}"),
        }
        t.clear();
        assert_eq!(t.len(), 0);
    }
}
