package store

// CheckHistorySQL exposes the history query to the plan test.
const CheckHistorySQL = checkHistorySQL
