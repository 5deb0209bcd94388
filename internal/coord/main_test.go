package coord

import (
	"log/slog"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// Tests make Redis unreachable on purpose; the client library would
	// print every failed dial.
	SetClientLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
