package topology

// regionAZs lists real AWS regions and their availability zone IDs (the account-independent
// names that flow logs carry in az-id).
var regionAZs = map[string][]string{
	"us-east-1":      {"use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"},
	"us-east-2":      {"use2-az1", "use2-az2", "use2-az3"},
	"us-west-1":      {"usw1-az1", "usw1-az3"},
	"us-west-2":      {"usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"},
	"ca-central-1":   {"cac1-az1", "cac1-az2", "cac1-az4"},
	"sa-east-1":      {"sae1-az1", "sae1-az2", "sae1-az3"},
	"eu-west-1":      {"euw1-az1", "euw1-az2", "euw1-az3"},
	"eu-west-2":      {"euw2-az1", "euw2-az2", "euw2-az3"},
	"eu-west-3":      {"euw3-az1", "euw3-az2", "euw3-az3"},
	"eu-central-1":   {"euc1-az1", "euc1-az2", "euc1-az3"},
	"eu-north-1":     {"eun1-az1", "eun1-az2", "eun1-az3"},
	"ap-south-1":     {"aps1-az1", "aps1-az2", "aps1-az3"},
	"ap-southeast-1": {"apse1-az1", "apse1-az2", "apse1-az3"},
	"ap-southeast-2": {"apse2-az1", "apse2-az2", "apse2-az3"},
	"ap-northeast-1": {"apne1-az1", "apne1-az2", "apne1-az4"},
	"ap-northeast-2": {"apne2-az1", "apne2-az2", "apne2-az3", "apne2-az4"},
}

// regionOrder fixes an iteration order over regionAZs (map order must never reach output).
var regionOrder = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
	"ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
}

// Regions returns the region names this package knows, in a fixed order.
func Regions() []string { return append([]string(nil), regionOrder...) }

// AZIDs returns the availability zone IDs of region, or nil for an unknown region.
func AZIDs(region string) []string { return append([]string(nil), regionAZs[region]...) }

func azInRegion(region, az string) bool {
	for _, a := range regionAZs[region] {
		if a == az {
			return true
		}
	}
	return false
}
