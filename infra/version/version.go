// Package version is the platform's release: the version CHANGELOG.md's
// newest entry names, exported by every stack (output platformVersion)
// and tagged on every resource the aws providers create (TagKey).
package version

// Version is the release, in semantic versioning: a major version may
// need a manual step on upgrade (CHANGELOG.md says which), a minor adds
// resources or settings, a patch changes neither.
const Version = "0.9.0"

// TagKey is the default tag that carries Version.
const TagKey = "PlatformVersion"
