package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// maxJWKSBytes bounds a key set document (an SSM advanced parameter holds
// at most 8 KB; an HTTP answer is cut at 1 MiB).
const maxJWKSBytes = 1 << 20

// KeySource returns the issuer's current JSON Web Key Set document. Its
// String names the source in errors and logs.
type KeySource interface {
	JWKS(ctx context.Context) ([]byte, error)
	String() string
}

// HTTPSource fetches the key set from the issuer's JWKS URL. It serves
// local development and issuers the tasks can reach; in AWS the tasks have
// no path to the Amazon Cognito JWKS URL (docs/service.md, "Signing keys").
type HTTPSource struct {
	// URL is the JWKS URL.
	URL string
	// Client makes the request.
	Client *http.Client
}

// JWKS implements KeySource.
func (s *HTTPSource) JWKS(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", s.URL, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.URL, err)
	}
	return b, nil
}

// String implements KeySource.
func (s *HTTPSource) String() string { return "JWKS URL " + s.URL }

// ParameterAPI is the part of the SSM client a ParameterSource uses.
type ParameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// ParameterSource reads the key set from an SSM parameter (String) that a
// scheduled job outside the tasks keeps equal to the issuer's JWKS plus the
// keys it retired within the token lifetime. The tasks reach SSM through
// the ssm interface endpoint; they make no call to the issuer.
type ParameterSource struct {
	// API is the SSM client.
	API ParameterAPI
	// Name is the parameter's name, e.g. /trading/dev/identity/jwks.
	Name string
}

// JWKS implements KeySource.
func (s *ParameterSource) JWKS(ctx context.Context) ([]byte, error) {
	out, err := s.API.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.Name)})
	if err != nil {
		return nil, fmt.Errorf("get parameter %s: %w", s.Name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return nil, errors.New("get parameter " + s.Name + ": no value")
	}
	return []byte(*out.Parameter.Value), nil
}

// String implements KeySource.
func (s *ParameterSource) String() string { return "SSM parameter " + s.Name }
