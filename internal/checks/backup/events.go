package backup

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

// event is the part of a Windows event's XML (EvtRender with
// EvtRenderEventXml, optionally with RenderingInfo) the check uses.
type event struct {
	Provider string
	ID       int
	Level    int // 1 critical, 2 error, 3 warning, 4 information
	Time     time.Time
	Channel  string
	Data     map[string]string // named <Data Name=...> values
	Values   []string          // all <Data> values in order (Veeam names none)
	Message  string            // RenderingInfo/Message when rendered
}

type xmlEvent struct {
	System struct {
		Provider struct {
			Name string `xml:"Name,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"`
		Level       int    `xml:"Level"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		Channel string `xml:"Channel"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Data"`
	} `xml:"EventData"`
	RenderingInfo struct {
		Message string `xml:"Message"`
	} `xml:"RenderingInfo"`
}

// parseEvent decodes one event's XML.
func parseEvent(b []byte) (event, error) {
	var x xmlEvent
	if err := xml.Unmarshal(logsrc.XMLSafe(b), &x); err != nil {
		return event{}, fmt.Errorf("parsing event XML: %w", err)
	}
	id, err := strconv.Atoi(strings.TrimSpace(x.System.EventID))
	if err != nil {
		return event{}, fmt.Errorf("parsing event ID %q: %w", x.System.EventID, err)
	}
	t, err := time.Parse(time.RFC3339Nano, x.System.TimeCreated.SystemTime)
	if err != nil {
		return event{}, fmt.Errorf("parsing event time: %w", err)
	}
	ev := event{Provider: x.System.Provider.Name, ID: id, Level: x.System.Level, Time: t,
		Channel: x.System.Channel, Data: map[string]string{}, Message: strings.TrimSpace(x.RenderingInfo.Message)}
	for _, d := range x.EventData.Data {
		v := strings.TrimSpace(d.Value)
		ev.Values = append(ev.Values, v)
		if d.Name != "" {
			ev.Data[d.Name] = v
		}
	}
	return ev, nil
}

// Windows Server Backup (channel Microsoft-Windows-Backup) event IDs.
// 4 is "The backup operation has finished successfully"; the failure IDs are
// the documented "backup operation ... has failed" events (general failure,
// VSS failure, target not found or full, cancelled, not started).
var (
	wsbSuccess = map[int]bool{4: true}
	wsbFailure = map[int]bool{5: true, 7: true, 8: true, 9: true, 17: true, 18: true, 19: true, 20: true,
		21: true, 22: true, 49: true, 50: true, 52: true, 100: true, 517: true, 518: true, 521: true,
		527: true, 528: true, 544: true, 545: true, 546: true, 561: true, 564: true, 612: true}
)

// wsbJob classifies a Windows Server Backup event; ok is false for events
// that are not a job's end (start, progress).
func wsbJob(ev event) (j job, ok bool) {
	if !strings.EqualFold(ev.Provider, "Microsoft-Windows-Backup") {
		return job{}, false
	}
	j = job{Name: "Windows Server Backup", Time: ev.Time}
	switch {
	case wsbSuccess[ev.ID]:
		j.Outcome = success
	case wsbFailure[ev.ID], ev.Level == 1 || ev.Level == 2:
		// The channel logs errors only for operations that failed.
		j.Outcome = failed
		j.Reason = wsbReason(ev)
	default:
		return job{}, false
	}
	return j, true
}

// wsbReason is the rendered message, else the HRESULT the event carries.
func wsbReason(ev event) string {
	if ev.Message != "" {
		return firstSentence(ev.Message)
	}
	for _, k := range []string{"HRESULT", "ErrorCode"} {
		if v := ev.Data[k]; v != "" && v != "0" {
			if n, err := strconv.ParseInt(v, 0, 64); err == nil {
				return fmt.Sprintf("event %d, error code 0x%08X", ev.ID, uint32(n))
			}
			return fmt.Sprintf("event %d, error code %s", ev.ID, v)
		}
	}
	return fmt.Sprintf("event %d", ev.ID)
}

// veeamJob classifies a Veeam job-finished event (ID 190: "Backup job
// finished", written by Veeam Backup & Replication to its "Veeam Backup"
// channel and by Veeam Agent for Windows to the Application log). The
// result is the word Success/Warning/Failed in the rendered message or the
// data, else the event level.
func veeamJob(ev event) (j job, ok bool) {
	if !strings.HasPrefix(strings.ToLower(ev.Provider), "veeam") || ev.ID != 190 {
		return job{}, false
	}
	j = job{Time: ev.Time, Name: veeamJobName(ev)}
	switch res := veeamResult(ev); res {
	case "success":
		j.Outcome = success
	case "warning":
		j.Outcome = warning
		j.Reason = veeamDetails(ev)
	case "failed":
		j.Outcome = failed
		j.Reason = veeamDetails(ev)
	default:
		switch ev.Level {
		case 4, 0:
			j.Outcome = success
		case 3:
			j.Outcome = warning
		default:
			j.Outcome = failed
		}
		j.Reason = veeamDetails(ev)
	}
	return j, true
}

func veeamResult(ev event) string {
	texts := append([]string{ev.Message}, ev.Values...)
	for _, t := range texts {
		low := strings.ToLower(t)
		for _, w := range []string{"failed", "warning", "success"} {
			if low == w || strings.Contains(low, "finished with "+w) || strings.Contains(low, "result: "+w) {
				return w
			}
		}
	}
	return ""
}

// veeamJobName is the quoted job name of the message, else the data value
// that follows the job ID.
func veeamJobName(ev event) string {
	if _, rest, ok := strings.Cut(ev.Message, "'"); ok {
		if name, _, ok := strings.Cut(rest, "'"); ok {
			return name
		}
	}
	if _, rest, ok := strings.Cut(ev.Message, `"`); ok {
		if name, _, ok := strings.Cut(rest, `"`); ok {
			return name
		}
	}
	if len(ev.Values) > 1 {
		return ev.Values[1]
	}
	return ""
}

// veeamDetails is the message's "Job details:" part, which names the cause.
func veeamDetails(ev event) string {
	if _, d, ok := strings.Cut(ev.Message, "Job details:"); ok {
		return firstSentence(strings.TrimSpace(d))
	}
	for _, v := range ev.Values {
		if len(v) > 20 && strings.Contains(v, " ") {
			return firstSentence(v)
		}
	}
	return ""
}

// firstSentence shortens a Windows message to its first line.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}

// jobsFromEvents classifies event XML documents with classify.
func jobsFromEvents(xmls [][]byte, classify func(event) (job, bool)) ([]job, error) {
	var jobs []job
	for _, x := range xmls {
		ev, err := parseEvent(x)
		if err != nil {
			return nil, err
		}
		if j, ok := classify(ev); ok {
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}
