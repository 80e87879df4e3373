package snmptrap

import (
	"net/netip"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/wacht-rmm/wacht/internal/check"
)

// FuzzHandle feeds arbitrary datagrams through decoding, rule matching and
// recording. Nothing may panic, and every record stays bounded.
func FuzzHandle(f *testing.F) {
	v2 := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.SNMPv2Trap, RequestID: 1,
		Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(123)},
			{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.3"},
			{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2},
			{Name: ".1.3.6.1.2.1.2.2.1.2.2", Type: gosnmp.OctetString, Value: []byte("eth1")},
		}}
	if b, err := v2.MarshalMsg(); err == nil {
		f.Add(b)
	}
	v1 := &gosnmp.SnmpPacket{Version: gosnmp.Version1, Community: "public", PDUType: gosnmp.Trap,
		SnmpTrap: gosnmp.SnmpTrap{Enterprise: ".1.3.6.1.4.1.8072", AgentAddress: "127.0.0.1", GenericTrap: 2, Timestamp: 5,
			Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.2.2.1.1.2", Type: gosnmp.Integer, Value: 2}}}}
	if b, err := v1.MarshalMsg(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03})
	f.Add([]byte{0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x01})
	l, err := New(Config{
		Users:       []User{{Name: "trapuser", AuthProtocol: "SHA", AuthPassphrase: "trap-auth-4711", PrivProtocol: "AES", PrivPassphrase: "trap-priv-0815"}},
		Communities: []string{"public"},
		Rules:       rules(),
	}, func(check.Result) {}, nil)
	if err != nil {
		f.Fatal(err)
	}
	src := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, data []byte) {
		l.handle(data, src, func([]byte) {})
		for len(l.queue) > 0 {
			r := <-l.queue
			if len(r.Message.EN) > maxMessage+8 || len(r.Message.DE) > maxMessage+8 || len(r.Key) > 300 {
				t.Fatalf("record not bounded: key %d, message %d bytes", len(r.Key), len(r.Message.EN))
			}
		}
		clear(l.reject)
	})
}
