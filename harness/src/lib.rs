//! streamcheck: scenario → run → transcript → verdict → report.
