package main

import (
	"fmt"
	"log/slog"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/flowtap/flowtap/internal/version"
)

// subcommands are the constructors of every subcommand, one file each; help lists them
// sorted by name.
var subcommands = []func() *cobra.Command{
	newAthenaDDLCmd, newBrokerCmd, newCollectCmd, newConfigCmd, newConvertCmd, newFirehoseCmd, newGenerateCmd,
	newImportCmd, newLogstoreCmd, newQueryCmd, newReplayCmd, newSinkCmd, newUpCmd, newVersionCmd,
}

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	configFile string
	logFormat  string
	logLevel   string
}

var global globalOptions

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "flowtap",
		Short: "Flow-log and traffic-mirror collector pipeline",
		Long: `flowtap turns AWS VPC Traffic Mirroring (VXLAN on UDP 4789) into VPC-Flow-Log records,
generates realistic VPC, Transit Gateway and VPN logs, buffers them in Kafka and lands them in
Parquet (AWS's S3 layout) and a Loki-compatible log store, where they can be queried.

Every flag can also be set in the YAML file given by --config (key = flag name, either at the
top level or under the subcommand's name) or in an environment variable FLOWTAP_<FLAG>
(upper case, '-' as '_'). Flags win over the environment, which wins over the file.`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadConfig(cmd, global.configFile, os.Environ()); err != nil {
				return err
			}
			return setupLogging(global.logFormat, global.logLevel)
		},
	}
	root.SetVersionTemplate("flowtap {{.Version}}\n") // --version prints what `flowtap version` prints
	pf := root.PersistentFlags()
	pf.StringVar(&global.configFile, "config", "", "YAML configuration file")
	pf.StringVar(&global.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&global.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmds := make([]*cobra.Command, 0, len(subcommands))
	for _, newCmd := range subcommands {
		cmds = append(cmds, newCmd())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}

func setupLogging(format, level string) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, opts)))
	case "json":
		slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, opts)))
	default:
		return fmt.Errorf("--log-format: %q is not text or json", format)
	}
	return nil
}

// newVersionCmd prints the build's version (internal/version: stamped by the Makefile's build
// and release targets, else the toolchain's build info).
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the flowtap version (also: flowtap --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "flowtap", version.String())
			return nil
		},
	}
}
