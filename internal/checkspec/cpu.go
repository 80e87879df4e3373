package checkspec

import "github.com/wacht-rmm/wacht/internal/check"

// CPU declares the cpu check.
var CPU = &check.Spec{
	Name:  "cpu",
	Label: tx("CPU load", "CPU-Last"),
	Help:  tx("Average use of all processors over a short window; names the top processes when it does not pass.", "Durchschnittliche Auslastung aller Prozessoren über ein kurzes Fenster; nennt die größten Prozesse, wenn sie nicht besteht."),
	Params: append([]check.Param{
		{Name: "window", Type: check.Duration, Default: "10s", Min: lim(0.1), Max: lim(300),
			Label: tx("Measuring window", "Messfenster"), Help: tx("How long the load is averaged.", "Wie lange die Last gemittelt wird.")},
	}, percentPair(tx("the load", "die Last"), 85, 95)...),
	Rules: []check.Rule{check.Ordered("warn", "fail")},
}

// Memory declares the memory check.
var Memory = &check.Spec{
	Name:  "memory",
	Label: tx("Memory use", "Speicherauslastung"),
	Help:  tx("Used physical memory, averaged over a short window; names the top processes when it does not pass.", "Belegter Arbeitsspeicher, gemittelt über ein kurzes Fenster; nennt die größten Prozesse, wenn er nicht besteht."),
	Params: append([]check.Param{
		{Name: "window", Type: check.Duration, Default: "5s", Min: lim(0), Max: lim(300),
			Label: tx("Measuring window", "Messfenster"), Help: tx("How long memory use is averaged; 0s takes one reading.", "Wie lange die Auslastung gemittelt wird; 0s misst einmal.")},
	}, percentPair(tx("memory use", "die Auslastung"), 85, 95)...),
	Rules: []check.Rule{check.Ordered("warn", "fail")},
}
