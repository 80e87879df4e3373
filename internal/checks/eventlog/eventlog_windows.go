package eventlog

import (
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi"
)

func osSources(p params) ([]logsrc.Source, error) {
	var srcs []logsrc.Source
	for _, ch := range p.Channels {
		srcs = append(srcs, logsrc.Source{Name: "channel:" + ch, Reader: logsrc.WinLog{
			Channel: ch, Cond: "(Level=1 or Level=2)", ReadXML: wevtapi.Read,
		}})
	}
	return srcs, nil
}
