// Package canary embeds the CloudWatch Synthetics API canary script for the
// trading service and names the runtime, handler and zip layout it needs.
//
// Sources relied on (looked up in November 2026):
//
//   - "Runtime versions using Node.js and Puppeteer", Amazon CloudWatch User Guide,
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Library_nodejs_puppeteer.html
//     Runtimes from syn-nodejs-puppeteer-12.0 on run on Lambda Node.js 22.x;
//     syn-nodejs-puppeteer-11.0 added root-level packaging (the
//     nodejs/node_modules layout still works); from 13.1 on the library is
//     required as '@aws/synthetics-puppeteer' (legacy name 'Synthetics').
//   - "Test a canary locally" (page CloudWatch_Synthetics_Debug_Locally),
//     Amazon CloudWatch User Guide, section "Change the CloudWatch Synthetics
//     runtime": its ARN table lists syn-nodejs-puppeteer-17.0 as the newest
//     Node.js/Puppeteer runtime (us-east-1 layer Synthetics:82), then 16.1.
//     17.0's own release notes were not in the copy of the runtime page we
//     could read (it stopped at 15.0); every runtime since 12.0 is Node.js 22.x.
//   - "Runtime versions support policy", Amazon CloudWatch User Guide,
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Runtime_Support_Policy.html
//     syn-nodejs-puppeteer-7.0 and older are deprecated (7.0, 6.2 and 5.2 on
//     January 22, 2026). 8.0 to 11.0 run on Lambda Node.js 20.x, whose Lambda
//     support ended April 30, 2026 (function creation blocked from August 31,
//     2026, per the Lambda Node.js runtimes table), so they are on the way out.
//   - "Library functions available for Node.js canary scripts using Playwright",
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Synthetics_Canaries_Nodejs_Playwright.html
//     The Playwright runtimes offer launch/newPage/close/executeStep but no
//     executeHttpStep, so an API canary stays on the Puppeteer runtimes.
//   - AWS SDK for JavaScript v3 in the runtime (the script reads its client
//     secret with '@aws-sdk/client-ssm' GetParameter WithDecryption and ships
//     no dependencies): the same runtime page says that from
//     syn-nodejs-puppeteer-8.0 on the runtimes use the AWS SDK for JavaScript
//     v3, as Lambda's Node.js 18 and later runtimes do; Lambda includes the v3
//     SDK in those runtimes ("Why and how you should use AWS SDK for
//     JavaScript (v3) on Node.js 18", AWS Developer Tools Blog,
//     https://aws.amazon.com/blogs/developer/why-and-how-you-should-use-aws-sdk-for-javascript-v3-on-node-js-18/).
//     Runtime 17.0 runs on Node.js 22.x. (The page's older banner that the
//     runtimes carry the v2 SDK predates 8.0.) If a runtime lacked the
//     module, the handler fails naming it; bundle it into the zip then.
//   - "The token issuer endpoint", Amazon Cognito Developer Guide,
//     https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
//     POST /oauth2/token, application/x-www-form-urlencoded
//     grant_type=client_credentials&scope=..., and a client with a secret
//     authenticates with "Authorization: Basic Base64Encode(client_id:client_secret)";
//     the answer is {"access_token","expires_in","token_type":"Bearer"}.
//   - AWS::Synthetics::Canary Code.Handler, AWS CloudFormation User Guide:
//     the handler is "fileName.functionName" (pattern
//     ^([0-9a-zA-Z_-]+\/)*[0-9A-Za-z_\\-]+\.[A-Za-z_][A-Za-z0-9_]*$).
package canary

import (
	"bytes"
	_ "embed" // for go:embed
)

//go:embed apiCanary.js
var script []byte

// Runtime is the CloudWatch Synthetics runtime version the canary runs on:
// the newest Node.js/Puppeteer runtime that AWS's runtime page, "Runtime
// versions using Node.js and Puppeteer" (Amazon CloudWatch User Guide,
// CloudWatch_Synthetics_Library_nodejs_puppeteer), documents: it calls
// syn-nodejs-puppeteer-15.0 "the most recent Synthetics runtime for Node.js
// and Puppeteer" (Node.js 22.x, '@aws/synthetics-puppeteer' with
// executeHttpStep). A version seen only in another page's ARN table (17.0)
// is not pinned: the runtime page is the list AWS keeps release notes and
// deprecation dates in. Confirm it in the account before the first deploy:
// aws synthetics describe-runtime-versions (docs/deploy.md).
const Runtime = "syn-nodejs-puppeteer-15.0"

// Handler is the canary's entry point, "<file name without .js>.<exported function>".
const Handler = "apiCanary.handler"

// ScriptPath is where the script must sit inside the canary's zip file. The
// nodejs/node_modules layout is accepted by every Node.js Synthetics runtime
// (root-level files are accepted too from syn-nodejs-puppeteer-11.0 on).
const ScriptPath = "nodejs/node_modules/apiCanary.js"

// Script returns a copy of the embedded canary script (apiCanary.js).
func Script() []byte {
	return bytes.Clone(script)
}
