// Package tags builds the resource tags the program sets itself (the
// provider's default tags carry the rest): policy exemptions, which sit on
// the exempted resource so the reason travels with it into AWS.
package tags

import (
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ExemptPrefix starts the key of an exemption tag; proof/policy reads it.
const ExemptPrefix = "policy-exempt:"

// allowed is the character set AWS accepts in tag values.
var allowed = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$`)

// Exemption is one policy rule a resource is exempt from, and why.
type Exemption struct {
	Rule   string
	Reason string
}

// Exempt returns the tags for the exemptions. A reason AWS would reject as
// a tag value is an error, caught by the mock suite before any deploy.
func Exempt(exemptions ...Exemption) (pulumi.StringMap, error) {
	out := pulumi.StringMap{}
	for _, e := range exemptions {
		if !allowed.MatchString(e.Reason) {
			return nil, fmt.Errorf("exemption %s: reason %q is not a valid tag value (letters, digits, spaces and _.:/=+-@, at most 256)", e.Rule, e.Reason)
		}
		out[ExemptPrefix+e.Rule] = pulumi.String(e.Reason)
	}
	return out, nil
}
