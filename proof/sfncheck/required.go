package sfncheck

// Required members are found by the SDK itself: the operation is called,
// through reflection, on a client whose HTTP client fails every request
// without touching the network (static credentials, a fixed region, no
// retries). The client's validation middleware runs in the Initialize step,
// before serialization, signing and transport, and returns a
// smithy.InvalidParamsError listing every missing required member, nested
// ones included ("Filters[0].Name"). A request that passes validation ends
// at errNoNetwork.
//
// This was chosen over parsing the "This member is required." doc comments
// of the module sources with go/parser: it runs AWS's own generated
// validators (the same code a Go program would hit), needs no module
// source files at run time, does not depend on the wording of generated
// doc comments, and covers
// nested shapes, lists and maps exactly as the SDK walks them. Its cost is
// that dynamic (".$") values need placeholders of the right Go kind; errors
// beneath a placeholder of a composite value are ignored, since its members
// are only known at run time.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
)

// errNoNetwork is what every request of a checking client ends with.
var errNoNetwork = errors.New("sfncheck: no network")

// noNetwork is an aws.HTTPClient that sends nothing.
type noNetwork struct{}

// Do implements aws.HTTPClient.
func (noNetwork) Do(*http.Request) (*http.Response, error) { return nil, errNoNetwork }

// operation is one client method: func(ctx, *XInput, ...func(*Options)) (*XOutput, error).
type operation struct {
	name   string
	method reflect.Value
	input  reflect.Type // the XInput struct type
}

var (
	ctxType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errType = reflect.TypeOf((*error)(nil)).Elem()
)

// checkingConfig is the aws.Config of the clients operations are called on.
func checkingConfig(env Env) aws.Config {
	region := env.Region
	if region == "" {
		region = "us-east-1"
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSFNCHECKEXAMPLE", "sfncheck-static-secret", ""),
		HTTPClient:  noNetwork{},
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// findOperation looks up action (case-insensitively) among the methods of
// svc's client that have an operation's signature.
func findOperation(svc service, env Env, action string) (operation, bool) {
	client := reflect.ValueOf(svc.newClient(checkingConfig(env)))
	typ := client.Type()
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		if !strings.EqualFold(m.Name, action) {
			continue
		}
		mt := m.Type // receiver first
		if mt.NumIn() != 4 || !mt.IsVariadic() || mt.In(1) != ctxType || mt.In(2).Kind() != reflect.Pointer ||
			mt.In(2).Elem().Kind() != reflect.Struct || mt.NumOut() != 2 || mt.Out(1) != errType {
			continue
		}
		return operation{name: m.Name, method: client.Method(i), input: mt.In(2).Elem()}, true
	}
	return operation{}, false
}

// validate calls the operation with input (a pointer to the input struct)
// and turns the SDK's parameter validation errors into problems. Errors at
// or beneath a path in dynamic are dropped.
func (op operation) validate(input reflect.Value, dynamic []string) (out []problem) {
	err := op.call(input)
	if err == nil || errors.Is(err, errNoNetwork) {
		return nil
	}
	var invalid smithy.InvalidParamsError
	if !errors.As(err, &invalid) {
		return []problem{{SDKError, fmt.Sprintf("%s: the SDK refused the request before sending it: %v", op.name, err)}}
	}
	for _, e := range invalid.Errs() {
		field := e.Error()
		var pe smithy.InvalidParamError
		if errors.As(e, &pe) {
			field = strings.TrimPrefix(pe.Field(), invalid.Context+".")
		}
		if underDynamic(field, dynamic) {
			continue
		}
		var required *smithy.ParamRequiredError
		if errors.As(e, &required) {
			out = append(out, problem{MissingRequired, fmt.Sprintf("%s: required member %s is missing", op.name, field)})
			continue
		}
		out = append(out, problem{InvalidParam, fmt.Sprintf("%s: %v", op.name, e)})
	}
	return out
}

// call invokes the operation; a panic inside the SDK (a placeholder it
// cannot serialize) becomes an error.
func (op operation) call(input reflect.Value) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v", op.name, r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := op.method.Call([]reflect.Value{reflect.ValueOf(ctx), input})
	if e, ok := res[1].Interface().(error); ok {
		return e
	}
	return nil
}

// underDynamic reports whether field is one of paths or beneath one.
func underDynamic(field string, paths []string) bool {
	for _, p := range paths {
		if field == p || strings.HasPrefix(field, p+".") || strings.HasPrefix(field, p+"[") {
			return true
		}
	}
	return false
}
