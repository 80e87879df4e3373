package store

// CheckHistorySQL exposes the history query to the plan test.
var CheckHistorySQL = checkHistorySQL
