package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// validators holds, per command, the checks its RunE would make on the configuration
// before doing any I/O; `config check` runs them.
var validators = map[string]func() error{}

// validate registers the configuration check of the command at path (e.g. "flowtap up").
func validate(path string, check func() error) { validators[path] = check }

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show or check the effective configuration of a command",
		Long: `config dump COMMAND [FLAGS…] prints the configuration COMMAND would run with, after the
--config file, the FLOWTAP_* environment and the flags (in that order of precedence,
lowest first), as YAML that --config accepts: one key per flag, under the command's name,
each with a comment naming where its value came from (default, file, env or flag).

config check COMMAND [FLAGS…] loads the same configuration and runs the command's checks
without starting anything; it prints "ok" or the first error and exits non-zero.`,
		Example: `  flowtap config dump up --config flowtap.yaml
  FLOWTAP_RATE=200 flowtap config dump up
  flowtap config check sink --config /etc/flowtap.yaml`,
	}
	for _, action := range []string{"dump", "check"} {
		cmd.AddCommand(&cobra.Command{
			Use:                action + " COMMAND [FLAGS…]",
			Short:              map[string]string{"dump": "Print the effective configuration of COMMAND as YAML", "check": "Validate the configuration of COMMAND"}[action],
			DisableFlagParsing: true,
			RunE: func(c *cobra.Command, args []string) error {
				return configAction(c.Root(), c.OutOrStdout(), action, args, os.Environ())
			},
		})
	}
	return cmd
}

// configAction finds the command named by the leading arguments, parses the rest as its
// flags, loads file and environment, and dumps or checks the result.
func configAction(root *cobra.Command, out io.Writer, action string, args, env []string) error {
	target, rest, err := root.Find(args)
	if err != nil || target == root || len(args) == 0 {
		return fmt.Errorf("config %s: name a command, e.g. 'flowtap config %s up'", action, action)
	}
	if target.Name() == "config" || (target.Parent() != nil && target.Parent().Name() == "config") {
		return fmt.Errorf("config %s: %q has no configuration", action, target.CommandPath())
	}
	if err := target.ParseFlags(rest); err != nil {
		return fmt.Errorf("config %s %s: %w", action, target.Name(), err)
	}
	file, _ := target.Flags().GetString("config")
	sources, err := loadConfigSources(target, file, env)
	if err != nil {
		return err
	}
	if action == "check" {
		if check := validators[target.CommandPath()]; check != nil {
			if err := check(); err != nil {
				return fmt.Errorf("%s: %w", target.CommandPath(), err)
			}
		}
		_, err := fmt.Fprintln(out, "ok")
		return err
	}
	return dumpConfig(out, target, file, sources)
}

// dumpConfig writes the effective flag values of cmd as YAML under the command's path
// below the root (e.g. query: {sql: {…}}), sorted by key, with the source of each value.
func dumpConfig(out io.Writer, cmd *cobra.Command, file string, sources map[string]string) error {
	var flags []*pflag.Flag
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "config" {
			flags = append(flags, f)
		}
	})
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	body := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range flags {
		v := valueNode(f)
		switch {
		case f.Changed:
			v.LineComment = "flag"
		case sources[f.Name] != "":
			v.LineComment = sources[f.Name]
		default:
			v.LineComment = "default"
		}
		body.Content = append(body.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Name}, v)
	}
	var path []string
	for c := cmd; c != nil && c.HasParent(); c = c.Parent() {
		path = append([]string{c.Name()}, path...)
	}
	for i := len(path) - 1; i >= 0; i-- {
		body = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: path[i]}, body}}
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{body},
		HeadComment: "effective configuration of '" + cmd.CommandPath() + "' (defaults < --config file < FLOWTAP_* < flags)"}
	if file != "" {
		doc.HeadComment += "\nconfig file: " + file
	}
	enc := yaml.NewEncoder(out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	return enc.Close()
}

// valueNode renders a flag's value: lists as YAML sequences, secrets masked.
func valueNode(f *pflag.Flag) *yaml.Node {
	if strings.Contains(f.Name, "password") || strings.Contains(f.Name, "secret") {
		if f.Value.String() != "" {
			return &yaml.Node{Kind: yaml.ScalarNode, Value: "<redacted>"}
		}
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range sv.GetSlice() {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
		}
		return n
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: f.Value.String()}
	switch f.Value.Type() {
	case "string":
		n.Tag = "!!str"
	}
	return n
}
