package logsrc

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// winEvent is the part of the Windows event XML schema
// (http://schemas.microsoft.com/win/2004/08/events/event) the checks use.
type winEvent struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"`
		Level       int    `xml:"Level"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID uint64 `xml:"EventRecordID"`
		Channel       string `xml:"Channel"`
		Computer      string `xml:"Computer"`
		Execution     struct {
			PID string `xml:"ProcessID,attr"`
		} `xml:"Execution"`
	} `xml:"System"`
	EventData struct {
		Data []winData `xml:"Data"`
	} `xml:"EventData"`
	UserData struct {
		Inner struct {
			Fields []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:"UserData"`
	RenderingInfo struct {
		Message string `xml:"Message"`
	} `xml:"RenderingInfo"`
}

type winData struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

// ParseWinEvent parses one event as rendered by EvtRender(EvtRenderEventXml)
// or, with a RenderingInfo/Message, by EvtFormatMessage(EvtFormatMessageXml).
// Level 1 (critical) and 2 (error) map to syslog priorities 2 and 3, so both
// worlds share one threshold. Without a formatted message the EventData
// values are joined as the message. It also returns the EventRecordID.
func ParseWinEvent(x []byte) (Entry, uint64, error) {
	var ev winEvent
	if err := xml.Unmarshal(XMLSafe(x), &ev); err != nil {
		return Entry{}, 0, fmt.Errorf("parsing event XML: %w", err)
	}
	s := ev.System
	e := Entry{Log: s.Channel, Source: s.Provider.Name, ID: strings.TrimSpace(s.EventID), Host: s.Computer, PID: s.Execution.PID, Priority: winPriority(s.Level)}
	if t, err := time.Parse(time.RFC3339Nano, s.TimeCreated.SystemTime); err == nil {
		e.Time = t.UTC()
	}
	if len(ev.EventData.Data) > 0 || len(ev.UserData.Inner.Fields) > 0 {
		e.Data = map[string]string{}
	}
	var vals []string
	for i, d := range ev.EventData.Data {
		name := d.Name
		if name == "" {
			name = strconv.Itoa(i)
		}
		v := strings.TrimSpace(d.Value)
		e.Data[name] = v
		if v != "" {
			vals = append(vals, v)
		}
	}
	for _, f := range ev.UserData.Inner.Fields {
		v := strings.TrimSpace(f.Value)
		e.Data[f.XMLName.Local] = v
		if v != "" {
			vals = append(vals, v)
		}
	}
	e.Message = strings.TrimSpace(ev.RenderingInfo.Message)
	if e.Message == "" {
		e.Message = strings.Join(vals, "; ")
	}
	return e, s.EventRecordID, nil
}

// XMLSafe replaces the characters XML 1.0 forbids (control characters
// other than tab, newline and carriage return) with U+FFFD. EvtRender
// writes them unescaped where an event's data holds them (a 4739 policy
// change with a raw byte as MinPasswordAge, Sysmon file metadata), and
// encoding/xml refuses the whole event, which would stop a channel's
// reading at that event for good.
func XMLSafe(x []byte) []byte {
	var out []byte // nil until the first forbidden character
	for i, c := range x {
		if c >= 0x20 || c == '\t' || c == '\n' || c == '\r' {
			if out != nil {
				out = append(out, c)
			}
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(x)+8), x[:i]...)
		}
		out = append(out, "\uFFFD"...)
	}
	if out == nil {
		return x
	}
	return out
}

func winPriority(level int) int {
	switch level {
	case 1:
		return 2 // critical
	case 2:
		return 3 // error
	case 3:
		return 4 // warning
	case 0, 4:
		return 6 // information (0 = LogAlways)
	case 5:
		return 7 // verbose
	}
	return -1
}

// BookmarkRecordID returns the RecordId in a bookmark rendered by
// EvtRender(EvtRenderBookmark), e.g.
// <BookmarkList><Bookmark Channel='System' RecordId='1234' IsCurrent='true'/></BookmarkList>.
func BookmarkRecordID(bookmarkXML string) (uint64, error) {
	var bl struct {
		Bookmarks []struct {
			Channel  string `xml:"Channel,attr"`
			RecordID uint64 `xml:"RecordId,attr"`
		} `xml:"Bookmark"`
	}
	if err := xml.Unmarshal([]byte(bookmarkXML), &bl); err != nil {
		return 0, fmt.Errorf("parsing bookmark: %w", err)
	}
	if len(bl.Bookmarks) == 0 {
		return 0, fmt.Errorf("bookmark lists no event")
	}
	return bl.Bookmarks[0].RecordID, nil
}

// WinQuery builds the XPath query for a channel: cond selects events
// (e.g. "(Level=1 or Level=2)"); with a bookmark, the events after its
// record or newer than its event's time (record numbers can start over
// when a log is cleared), else the events of the last lookback.
func WinQuery(cond string, afterRecord uint64, afterTime time.Time, lookback time.Duration) string {
	parts := []string{}
	if cond != "" {
		parts = append(parts, cond)
	}
	switch {
	case afterRecord > 0 && !afterTime.IsZero():
		parts = append(parts, fmt.Sprintf("(EventRecordID > %d or TimeCreated[@SystemTime > '%s'])", afterRecord, afterTime.UTC().Format("2006-01-02T15:04:05.0000000Z")))
	case afterRecord > 0:
		parts = append(parts, fmt.Sprintf("EventRecordID > %d", afterRecord))
	default:
		parts = append(parts, fmt.Sprintf("TimeCreated[timediff(@SystemTime) <= %d]", lookback.Milliseconds()))
	}
	return "*[System[" + strings.Join(parts, " and ") + "]]"
}
