package main

import (
	"fmt"
	"os"
	"sort"
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
	fileVals := map[string]string{}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("config %s: %w", file, err)
		}
		if err := flattenConfig(cmd, file, doc, fileVals); err != nil {
			return err
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
		if !ok {
			v, ok = fileVals[f.Name]
			src = file + ": " + f.Name
		}
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			if err := sv.Replace(strings.Split(v, ",")); err != nil {
				firstErr = fmt.Errorf("config %s: %w", src, err)
			}
			return
		}
		if err := f.Value.Set(v); err != nil {
			firstErr = fmt.Errorf("config %s: %w", src, err)
		}
	})
	return firstErr
}

// flattenConfig turns the YAML document into flag-name → value, keeping the top-level keys
// and the section of the running subcommand, and rejecting keys no command knows.
func flattenConfig(cmd *cobra.Command, file string, doc map[string]any, out map[string]string) error {
	root := cmd.Root()
	sections := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		sections[c.Name()] = c
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := doc[k]
		if sub, isSection := sections[k]; isSection {
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("config %s: key %q must be a map of %s flags", file, k, k)
			}
			for sk, sv := range m {
				if sub.Flags().Lookup(sk) == nil && root.PersistentFlags().Lookup(sk) == nil {
					return fmt.Errorf("config %s: unknown key %q (no flag --%s on %q)", file, k+"."+sk, sk, k)
				}
				if sub == cmd {
					out[sk] = scalar(sv)
				}
			}
			continue
		}
		if !anyCommandHasFlag(root, k) {
			return fmt.Errorf("config %s: unknown key %q", file, k)
		}
		if _, set := out[k]; !set {
			out[k] = scalar(v)
		}
	}
	return nil
}

func anyCommandHasFlag(root *cobra.Command, name string) bool {
	if root.PersistentFlags().Lookup(name) != nil {
		return true
	}
	for _, c := range root.Commands() {
		if c.Flags().Lookup(name) != nil {
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
