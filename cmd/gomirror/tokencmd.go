package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gomirror/gomirror/internal/access"
)

// tokenCmd makes a new bearer token for a user of a mirror.
func (a *app) tokenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "token USER [GROUP,...] --out FILE",
		Short: "Make a new access token: the user's file, and the mirror's tokens line",
		Long: `Token makes a new random token for USER. It writes USER:TOKEN to FILE (mode
0600), which the user gives to "gomirror use --token-file", and prints the
line to add to the mirror's tokens file, which holds only the token's
sha256. The token itself is never printed.`,
		Example: `  gomirror token alice dev,ci --out alice.token >> /etc/gomirror/tokens`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := args[0]
			if user == "" || strings.ContainsAny(user, ": \t\n") {
				return fmt.Errorf("user %q: want one word without a colon", user)
			}
			groups := ""
			if len(args) == 2 {
				groups = " " + args[1]
			}
			if out == "" {
				return errors.New("--out FILE is required: the token is written there, never printed")
			}
			token := access.NewToken()
			line := user + " " + access.HashToken(token) + groups + "\n"
			if _, err := access.ParseTokens([]byte(line)); err != nil {
				return fmt.Errorf("token: %w", err)
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			if _, err := fmt.Fprintf(f, "%s:%s\n", user, token); err != nil {
				f.Close()
				return fmt.Errorf("token: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("token: %w", err)
			}
			fmt.Fprint(a.stdout, line)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write USER:TOKEN to (created, mode 0600; never overwritten)")
	return cmd
}
