// Package readme reads the commands a newcomer is told to type from the
// README's "Quick start" section, so that tests run exactly those commands
// and fail when the README and what is tested drift apart.
package readme

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// QuickStartHeading is the heading of the README section whose shell code
// blocks are checked.
const QuickStartHeading = "## Quick start"

// QuickStart returns the commands of every shell code block (```sh) in the
// README's Quick start section, in order: one per line, with trailing
// comments and surrounding space removed; comment-only lines are skipped.
func QuickStart(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("readme: %w", err)
	}
	var cmds []string
	in, block := false, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !block && strings.HasPrefix(line, "## "):
			in = line == QuickStartHeading
		case in && strings.HasPrefix(trimmed, "```"):
			if block {
				block = false
			} else {
				block = trimmed == "```sh"
			}
		case in && block:
			if cmd := StripComment(trimmed); cmd != "" {
				cmds = append(cmds, cmd)
			}
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("readme: no ```sh code block under %q in %s", QuickStartHeading, path)
	}
	return cmds, sc.Err()
}

// Find returns the one quick-start command that starts with prefix.
func Find(path, prefix string) (string, error) {
	cmds, err := QuickStart(path)
	if err != nil {
		return "", err
	}
	var found []string
	for _, c := range cmds {
		if strings.HasPrefix(c, prefix) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("readme: want exactly one quick-start command starting with %q, found %q", prefix, found)
	}
	return found[0], nil
}

// StripComment removes a shell comment that starts a line or follows a
// space, outside quotes.
func StripComment(line string) string {
	var quote rune
	for i, c := range line {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimSpace(line[:i])
		}
	}
	return strings.TrimSpace(line)
}

// DemoPrefix starts the README's demo command; the demo's browser test runs
// the quick-start line that starts with it, as printed, plus timer flags.
const DemoPrefix = "go run ./cmd/sessiongate demo"
