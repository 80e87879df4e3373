package snmp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// source reads values from a device; faked in template tests.
type source interface {
	Get(ctx context.Context, oids []string) ([]Value, error)
	// Walk returns the values under root, at most max of them.
	Walk(ctx context.Context, root string, max int) ([]Value, error)
}

// ErrTooMany stops a walk that returns more varbinds than allowed.
var ErrTooMany = errors.New("walk returned too many values")

// client talks to one device through gosnmp.
type client struct {
	g       *gosnmp.GoSNMP
	secrets []string // redacted from error texts
}

var authProtos = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256,
	"SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtos = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
	"AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// newClient builds a gosnmp session from validated params. timeout bounds
// each request; the caller's context bounds the whole run.
func newClient(ctx context.Context, p *Params, timeout time.Duration) (*client, error) {
	g := &gosnmp.GoSNMP{
		Target:             p.Host,
		Port:               uint16(p.Port),
		Transport:          "udp",
		Community:          p.Community,
		Timeout:            timeout,
		Retries:            p.Retries,
		Context:            ctx,
		MaxOids:            gosnmp.MaxOids,
		MaxRepetitions:     25,
		ExponentialTimeout: false,
	}
	c := &client{g: g}
	switch p.Version {
	case "1":
		g.Version = gosnmp.Version1
		c.secrets = []string{p.Community}
	case "2c":
		g.Version = gosnmp.Version2c
		c.secrets = []string{p.Community}
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.ContextName = p.Context
		usm := &gosnmp.UsmSecurityParameters{UserName: p.User}
		g.MsgFlags = gosnmp.NoAuthNoPriv
		if p.AuthProtocol != "" {
			g.MsgFlags = gosnmp.AuthNoPriv
			usm.AuthenticationProtocol = authProtos[p.AuthProtocol]
			usm.AuthenticationPassphrase = p.AuthPassphrase
		}
		if p.PrivProtocol != "" {
			g.MsgFlags = gosnmp.AuthPriv
			usm.PrivacyProtocol = privProtos[p.PrivProtocol]
			usm.PrivacyPassphrase = p.PrivPassphrase
		}
		g.SecurityParameters = usm
		c.secrets = []string{p.AuthPassphrase, p.PrivPassphrase}
	}
	if err := g.Connect(); err != nil {
		return nil, c.wrap("connecting", err)
	}
	return c, nil
}

func (c *client) Close() { _ = c.g.Conn.Close() }

// wrap adds context and removes secrets from gosnmp's error text.
func (c *client) wrap(what string, err error) error {
	msg := err.Error()
	for _, s := range c.secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	if strings.Contains(msg, "timeout") || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %s", what, errNoResponse, msg)
	}
	return fmt.Errorf("%s: %s", what, msg)
}

// errNoResponse marks a device that did not answer in time.
var errNoResponse = errors.New("no response")

func (c *client) Get(ctx context.Context, oids []string) ([]Value, error) {
	var out []Value
	for i := 0; i < len(oids); i += gosnmp.MaxOids {
		chunk := oids[i:min(i+gosnmp.MaxOids, len(oids))]
		pkt, err := c.g.Get(chunk)
		if err != nil {
			return nil, c.wrap("get", err)
		}
		if pkt.Error != gosnmp.NoError {
			return nil, fmt.Errorf("get: device answered %v (index %d)", pkt.Error, pkt.ErrorIndex)
		}
		for _, vb := range pkt.Variables {
			v, err := convert(vb)
			if err != nil {
				if errors.Is(err, errNoValue) {
					continue // missing objects are the caller's to notice
				}
				return nil, fmt.Errorf("get: %w", err)
			}
			out = append(out, v)
		}
		if ctx.Err() != nil {
			return nil, c.wrap("get", ctx.Err())
		}
	}
	return out, nil
}

func (c *client) Walk(ctx context.Context, root string, max int) ([]Value, error) {
	var out []Value
	fn := func(vb gosnmp.SnmpPDU) error {
		if len(out) >= max {
			return ErrTooMany
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		v, err := convert(vb)
		if errors.Is(err, errNoValue) {
			return nil
		}
		if err != nil {
			return err
		}
		if !hasPrefix(v.OID, root) {
			return nil
		}
		out = append(out, v)
		return nil
	}
	var err error
	if c.g.Version == gosnmp.Version1 {
		err = c.g.Walk(root, fn)
	} else {
		err = c.g.BulkWalk(root, fn)
	}
	if errors.Is(err, ErrTooMany) {
		return nil, fmt.Errorf("walk %s: %w (limit %d)", root, ErrTooMany, max)
	}
	if err != nil {
		return nil, c.wrap("walk "+root, err)
	}
	return out, nil
}
