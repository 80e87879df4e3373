package report

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// MaxRecipients bounds a client's report recipients.
const MaxRecipients = 20

// ValidateSettings normalizes s (addresses trimmed, lower-cased and
// de-duplicated, the hour as HH:MM) or says what is wrong, wrapping
// core.ErrInvalid.
func ValidateSettings(s core.ReportSettings) (core.ReportSettings, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s.Hour))
	if err != nil {
		return s, fmt.Errorf("%w: hour %q is not HH:MM", core.ErrInvalid, s.Hour)
	}
	s.Hour = t.Format("15:04")
	var out []string
	for _, r := range s.Recipients {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		a, err := mail.ParseAddress(r)
		if err != nil || a.Name != "" || strings.ContainsAny(a.Address, ", ") {
			return s, fmt.Errorf("%w: %q is not an e-mail address", core.ErrInvalid, r)
		}
		if addr := strings.ToLower(a.Address); !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	if len(out) > MaxRecipients {
		return s, fmt.Errorf("%w: at most %d recipients", core.ErrInvalid, MaxRecipients)
	}
	s.Recipients = out
	if s.Recipients == nil {
		s.Recipients = []string{}
	}
	return s, nil
}

// Recipients are the addresses a client's report goes to: the configured
// ones, else the contact e-mail; none while the report is disabled.
func Recipients(s core.ReportSettings, c core.Client) []string {
	switch {
	case !s.Enabled:
		return nil
	case len(s.Recipients) > 0:
		return s.Recipients
	case c.ContactEmail != "":
		return []string{strings.ToLower(c.ContactEmail)}
	}
	return nil
}

// Outbox builds one e-mail per recipient with dedupe keys prefix:<address>.
func Outbox(m Mail, kind, lang, prefix string, to []string, at time.Time) ([]core.OutboxItem, error) {
	var out []core.OutboxItem
	for _, addr := range to {
		key := prefix + ":" + addr
		payload, err := json.Marshal(notify.Message{ID: notify.StableID(key), Lang: lang, Subject: m.Subject,
			Text: m.Text, HTML: m.HTML, Event: notify.Event{Kind: kind, At: at}})
		if err != nil {
			return nil, fmt.Errorf("encoding report mail: %w", err)
		}
		out = append(out, core.OutboxItem{DedupeKey: key, Channel: core.ChannelEmail, Target: addr,
			Payload: payload, NextAttemptAt: at, CreatedAt: at})
	}
	return out, nil
}

// SendNow queues client c's report of the last 24 hours to its recipients
// at once, apart from the daily one (its own dedupe keys), and returns the
// addresses; core.ErrInvalid when there are none.
func SendNow(ctx context.Context, st Store, c core.Client, now time.Time) ([]string, error) {
	rs, err := st.GetReportSettings(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	rs.Enabled = true // sending by hand works while the daily report is off
	to := Recipients(rs, c)
	if len(to) == 0 {
		return nil, fmt.Errorf("%w: client %d has no report recipient and no contact e-mail", core.ErrInvalid, c.ID)
	}
	env, err := LoadEnv(ctx, st)
	if err != nil {
		return nil, err
	}
	if !env.MailReady {
		return nil, fmt.Errorf("%w: no mail server configured (Settings → Notifications)", core.ErrInvalid)
	}
	d, err := Load(ctx, st, env, c, nil, now)
	if err != nil {
		return nil, err
	}
	r := Build(d, c.ReportLang)
	m, err := Render(r)
	if err != nil {
		return nil, err
	}
	prefix := "report-now:" + strconv.FormatInt(c.ID, 10) + ":" + strconv.FormatInt(now.UnixMilli(), 10)
	msgs, err := Outbox(m, notify.KindReport, r.Lang, prefix, to, now)
	if err != nil {
		return nil, err
	}
	if _, err := st.QueueReport(ctx, nil, msgs); err != nil {
		return nil, err
	}
	return to, nil
}

// Options configure a Scheduler.
type Options struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time // default time.Now
	// Interval between checks for due reports (default 1 min).
	Interval time.Duration
	// Singleton runs a pass only where no other server node runs one
	// (store.DB.TrySingleton); nil runs it here.
	Singleton func(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error)
	// Nudge wakes the outbox worker after reports were queued.
	Nudge func()
}

// Scheduler queues each client's daily report and each technician's
// digest once a day, at the hour, or as soon as it runs after the hour
// (a server that was down then sends them when it is back, the same day;
// a client or user created after the hour waits for the next day's), and
// on the first of a month each client's monthly report of the month
// before (monthly_schedule.go).
type Scheduler struct {
	o   Options
	log *slog.Logger
}

// SingletonJob is the cluster-wide job name of the scheduler's passes.
const SingletonJob = "daily-report"

// New returns a scheduler; Run starts it.
func New(o Options) *Scheduler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Singleton == nil {
		o.Singleton = func(ctx context.Context, _ string, fn func(ctx context.Context) error) (bool, error) {
			return true, fn(ctx)
		}
	}
	return &Scheduler{o: o, log: o.Log.With("component", "report")}
}

// Run queues due reports now and every Interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("queueing daily reports", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick queues the reports and digests that are due and not yet queued
// today, under the cluster singleton, and returns how many it queued.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	n := 0
	_, err := s.o.Singleton(ctx, SingletonJob, func(ctx context.Context) error {
		var err error
		n, err = s.queueDue(ctx)
		return err
	})
	if n > 0 && s.o.Nudge != nil {
		s.o.Nudge()
	}
	return n, err
}

// due reports whether hour ("HH:MM") has come on now's day, in now's zone,
// and that day's slot lies after since, when the schedule began (the
// client or user was created, or see scheduleStart): a slot missed while
// the server was down is caught up, but one that passed before the
// schedule began is not, so a new client's first report goes out at the
// next scheduled hour.
func due(now time.Time, hour string, since time.Time) bool {
	t, err := time.Parse("15:04", hour)
	if err != nil {
		return false
	}
	at := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
	return !now.Before(at) && !at.Before(since)
}

// scheduleStart is when a client's report schedule began: its creation,
// or the last time its report was switched on or moved to another hour,
// so switching it on at 10:00 for 07:00 sends nothing before tomorrow.
func scheduleStart(c core.Client, rs core.ReportSettings) time.Time {
	if rs.Since.After(c.CreatedAt) {
		return rs.Since
	}
	return c.CreatedAt
}

// pass is one Tick's shared reads.
type pass struct {
	s       *Scheduler
	env     Env
	now     time.Time
	devices []core.Device
	data    map[int64]Data
}

// clientData loads a client's data once per pass.
func (p *pass) clientData(ctx context.Context, c core.Client) (Data, error) {
	if d, ok := p.data[c.ID]; ok {
		return d, nil
	}
	if p.devices == nil {
		var err error
		if p.devices, err = p.s.o.Store.ListDevices(ctx); err != nil {
			return Data{}, fmt.Errorf("listing devices: %w", err)
		}
	}
	d, err := Load(ctx, p.s.o.Store, p.env, c, p.devices, p.now)
	if err == nil {
		p.data[c.ID] = d
	}
	return d, err
}

func (s *Scheduler) queueDue(ctx context.Context) (int, error) {
	st := s.o.Store
	env, err := LoadEnv(ctx, st)
	if err != nil {
		return 0, err
	}
	if !env.MailReady {
		// Nothing is queued that could not be sent; the alert engine logs
		// once that mail is off. Reports due today go out the same day
		// once a mail server is configured.
		return 0, nil
	}
	now := s.o.Now()
	local := now.In(env.Location)
	day := local.Format("2006-01-02")
	runs, err := st.ListReportRuns(ctx, day)
	if err != nil {
		return 0, err
	}
	done := map[core.ReportRun]bool{}
	for _, r := range runs {
		done[core.ReportRun{Kind: r.Kind, TargetID: r.TargetID}] = true
	}
	clients, err := st.ListClients(ctx)
	if err != nil {
		return 0, err
	}
	settings, err := st.ListReportSettings(ctx)
	if err != nil {
		return 0, err
	}
	p := &pass{s: s, env: env, now: now, data: map[int64]Data{}}
	queued := 0
	var errs []error
	for _, c := range clients {
		rs, ok := settings[c.ID]
		to := Recipients(rs, c)
		if !ok || len(to) == 0 || done[core.ReportRun{Kind: core.ReportClient, TargetID: c.ID}] || !due(local, rs.Hour, scheduleStart(c, rs)) {
			continue
		}
		d, err := p.clientData(ctx, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := Build(d, c.ReportLang)
		m, err := Render(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rendering the report of client %d: %w", c.ID, err))
			continue
		}
		prefix := "report:" + strconv.FormatInt(c.ID, 10) + ":" + day
		ok, err = s.queue(ctx, core.ReportRun{Kind: core.ReportClient, TargetID: c.ID, Day: day, QueuedAt: now},
			m, notify.KindReport, r.Lang, prefix, to)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			queued++
			s.log.Info("daily report queued", "client", c.ID, "recipients", len(to))
		}
	}
	n, err := s.queueMonthly(ctx, p, clients, settings, done, local, day)
	queued += n
	if err != nil {
		errs = append(errs, err)
	}
	n, err = s.queueDigests(ctx, p, clients, done, local, day)
	queued += n
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return queued, fmt.Errorf("%d of the day's reports failed, first: %w", len(errs), errs[0])
	}
	return queued, nil
}

// queueDigests queues, from the digest hour on, each admin's and
// technician's digest across the clients they may see (users who turned
// it off, disabled users and users created after today's hour excepted).
func (s *Scheduler) queueDigests(ctx context.Context, p *pass, clients []core.Client, done map[core.ReportRun]bool,
	local time.Time, day string) (int, error) {
	if !due(local, core.DefaultReportHour, time.Time{}) {
		return 0, nil
	}
	st := s.o.Store
	users, err := st.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	off, err := st.DigestOff(ctx)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, u := range users {
		if u.Disabled || !authz.CanOperate(u.Role) || off[u.ID] || done[core.ReportRun{Kind: core.ReportDigest, TargetID: u.ID}] ||
			!due(local, core.DefaultReportHour, u.CreatedAt) {
			continue
		}
		lang := u.Lang
		if lang != "en" {
			lang = "de"
		}
		var reports []Report
		for _, c := range clients {
			if !authz.CanSeeClient(u, c.ID) {
				continue
			}
			d, err := p.clientData(ctx, c)
			if err != nil {
				return queued, err
			}
			reports = append(reports, Build(d, lang))
		}
		if len(reports) == 0 {
			continue
		}
		dg := NewDigest(lang, p.env.ServerURL, reports)
		m, err := RenderDigest(dg)
		if err != nil {
			return queued, fmt.Errorf("rendering the digest of user %d: %w", u.ID, err)
		}
		prefix := "digest:" + strconv.FormatInt(u.ID, 10) + ":" + day
		ok, err := s.queue(ctx, core.ReportRun{Kind: core.ReportDigest, TargetID: u.ID, Day: day, QueuedAt: p.now},
			m, notify.KindDigest, lang, prefix, []string{u.Email})
		if err != nil {
			return queued, err
		}
		if ok {
			queued++
		}
	}
	return queued, nil
}

func (s *Scheduler) queue(ctx context.Context, run core.ReportRun, m Mail, kind, lang, prefix string, to []string) (bool, error) {
	msgs, err := Outbox(m, kind, lang, prefix, to, run.QueuedAt)
	if err != nil {
		return false, err
	}
	return s.o.Store.QueueReport(ctx, &run, msgs)
}
