package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// loadConfig is the one configuration loader: for every flag of cmd that was not given on
// the command line it takes the value from FLOWTAP_<FLAG> in env, else from the YAML file
// (key = flag name, under the subcommand's name or at the top level). Unknown keys in the
// file are an error that names the key, so typos do not pass silently.
func loadConfig(cmd *cobra.Command, file string, env []string) error {
	_, err := loadConfigSources(cmd, file, env)
	return err
}

// loadConfigSources is loadConfig that also says where each value it set came from
// (flag name → "env FLOWTAP_…" or "file"); flags given on the command line are not in it.
func loadConfigSources(cmd *cobra.Command, file string, env []string) (map[string]string, error) {
	sources := map[string]string{}
	fileVals := map[string]string{}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
		if err := flattenConfig(cmd, file, doc, fileVals); err != nil {
			return nil, err
		}
	}
	envVals := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if name, ok := strings.CutPrefix(k, "FLOWTAP_"); ok {
			envVals[strings.ToLower(strings.ReplaceAll(name, "_", "-"))] = v
		}
	}
	var firstErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil || f.Name == "config" {
			return
		}
		v, ok := envVals[f.Name]
		src := "FLOWTAP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		sources[f.Name] = "env " + src
		if !ok {
			v, ok = fileVals[f.Name]
			src = file + ": " + f.Name
			sources[f.Name] = "file"
		}
		if !ok {
			delete(sources, f.Name)
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			items := strings.Split(v, ",")
			if v == "" {
				items = nil // an empty list, not one empty item
			}
			if err := sv.Replace(items); err != nil {
				firstErr = fmt.Errorf("config %s: %w", src, err)
			}
			return
		}
		if err := f.Value.Set(v); err != nil {
			firstErr = fmt.Errorf("config %s: %w", src, err)
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return sources, nil
}

// flattenConfig turns the YAML document into flag-name → value for the running command:
// top-level keys, then the running command's section ("collect:"), then nested sections of
// sub-subcommands ("query: {sql: {…}}"), deeper keys winning. Keys no command knows are
// errors that name the key.
func flattenConfig(cmd *cobra.Command, file string, doc map[string]any, out map[string]string) error {
	return walkSection(cmd.Root(), cmd, file, "", doc, out)
}

func walkSection(sec, running *cobra.Command, file, path string, m map[string]any, out map[string]string) error {
	keys := slices.Sorted(maps.Keys(m))
	onPath := false
	for c := running; c != nil; c = c.Parent() {
		onPath = onPath || c == sec
	}
	type section struct {
		cmd *cobra.Command
		key string
		m   map[string]any
	}
	var subsections []section
	for _, k := range keys {
		v := m[k]
		if sub := subcommand(sec, k); sub != nil {
			sm, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("config %s: key %q must be a map of %s flags", file, path+k, sub.CommandPath())
			}
			subsections = append(subsections, section{sub, k, sm})
			continue
		}
		if !treeHasFlag(sec, k) {
			if path == "" {
				return fmt.Errorf("config %s: unknown key %q", file, k)
			}
			return fmt.Errorf("config %s: unknown key %q (no flag --%s under %q)", file, path+k, k, sec.CommandPath())
		}
		if onPath && (running.Flags().Lookup(k) != nil || running.InheritedFlags().Lookup(k) != nil) {
			out[k] = scalar(v)
		}
	}
	for _, s := range subsections {
		if err := walkSection(s.cmd, running, file, path+s.key+".", s.m, out); err != nil {
			return err
		}
	}
	return nil
}

func subcommand(c *cobra.Command, name string) *cobra.Command {
	for _, sub := range c.Commands() {
		if sub.Name() == name {
			return sub
		}
	}
	return nil
}

// treeHasFlag reports whether c or any command below it has flag name.
func treeHasFlag(c *cobra.Command, name string) bool {
	if c.Flags().Lookup(name) != nil || c.PersistentFlags().Lookup(name) != nil {
		return true
	}
	for _, sub := range c.Commands() {
		if treeHasFlag(sub, name) {
			return true
		}
	}
	return false
}

func scalar(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
