// Package wevtapi is a small binding to the Windows Event Log API
// (wevtapi.dll): query a channel with XPath, step through the results,
// render events and bookmarks as XML, and format event messages. There is
// no downloadable library for it (DESIGN §4). Everything but this comment
// is Windows-only.
package wevtapi
