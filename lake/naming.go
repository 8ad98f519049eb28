package lake

import "github.com/flowtap/flowtap/flowlog"

// Naming is what every S3-layout writer needs to name its files: the flow log ids that go
// into VPC and Transit Gateway file names, and the account and region used for records
// that carry neither. The Parquet sink, the text sink and the text rotator embed it.
type Naming struct {
	// FlowLogID and TGWFlowLogID appear in the file names of VPC and TGW files.
	FlowLogID    string
	TGWFlowLogID string
	// DefaultAccount and DefaultRegion place records that carry neither.
	DefaultAccount string
	DefaultRegion  string
}

// Target is where in a lake a sink's configuration puts its objects: the user folder in
// front of AWSLogs/, the key layout, and the Naming of files. The Parquet and text sinks
// embed it in their Config.
type Target struct {
	// Prefix is the user folder in front of AWSLogs/.
	Prefix string
	// Layout is plain, hourly, hive or hive-hourly (see ParseStyle).
	Layout string
	// Naming holds the flow log ids of file names and the default account and region.
	Naming
}

// DefaultTarget is the plain layout without a prefix, named by DefaultNaming.
func DefaultTarget() Target { return Target{Layout: "plain", Naming: DefaultNaming()} }

// DefaultNaming is used for every field left empty.
func DefaultNaming() Naming {
	return Naming{FlowLogID: "fl-0123456789abcdef0", TGWFlowLogID: "fl-0fedcba9876543210",
		DefaultAccount: "unknown", DefaultRegion: "us-east-1"}
}

// WithDefaults returns n with its empty fields taken from DefaultNaming.
func (n Naming) WithDefaults() Naming {
	def := DefaultNaming()
	for _, p := range []struct {
		dst *string
		def string
	}{
		{&n.FlowLogID, def.FlowLogID}, {&n.TGWFlowLogID, def.TGWFlowLogID},
		{&n.DefaultAccount, def.DefaultAccount}, {&n.DefaultRegion, def.DefaultRegion}} {
		if *p.dst == "" {
			*p.dst = p.def
		}
	}
	return n
}

// FlowLogIDOf returns the flow log id for files of kind k.
func (n Naming) FlowLogIDOf(k flowlog.Kind) string {
	if k == flowlog.KindTGW {
		return n.TGWFlowLogID
	}
	return n.FlowLogID
}
