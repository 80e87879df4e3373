package snmp

import (
	"io"
	"log"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// FuzzResponse feeds arbitrary bytes through gosnmp's response decoder and
// then through convert and judge, the path a device's answer takes. Nothing
// may panic, and decoded strings stay bounded.
func FuzzResponse(f *testing.F) {
	// A real GetResponse from net-snmp for sysUpTime.0 and sysDescr.0.
	pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, RequestID: 7,
		Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(594)},
			{Name: ".1.3.6.1.2.1.1.1.0", Type: gosnmp.OctetString, Value: []byte("Linux vm 6.1.0 x86_64")},
			{Name: ".1.3.6.1.2.1.2.2.1.10.1", Type: gosnmp.Counter32, Value: uint32(117047198)},
			{Name: ".1.3.6.1.2.1.31.1.1.1.6.1", Type: gosnmp.Counter64, Value: uint64(1 << 40)},
			{Name: ".1.3.6.1.2.1.2.2.1.7.1", Type: gosnmp.Integer, Value: 1},
		}}
	if b, err := pkt.MarshalMsg(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(log.New(io.Discard, "", 0))}
		p, err := dec.SnmpDecodePacket(data)
		if err != nil || p == nil {
			return
		}
		c := &Check{now: time.Now, state: &state{Samples: map[string]sample{}}}
		c.state.begin()
		for _, vb := range p.Variables {
			v, err := convert(vb)
			if err != nil {
				continue
			}
			if len(v.Str) > 4*maxString || len(v.Raw) > maxString {
				t.Fatalf("value not bounded: %d bytes", len(v.Str))
			}
			spec := OIDSpec{OID: v.OID, Scale: 1, Rate: v.Kind == KindCounter}
			_ = c.judge(spec, v.OID, v, time.Now())
			_ = c.judge(spec, v.OID, v, time.Now().Add(time.Second))
		}
	})
}
