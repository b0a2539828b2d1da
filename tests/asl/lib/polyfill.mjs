// aws-local-stepfunctions 3.x calls Promise.withResolvers (Node 22+) in every
// Task state. On Node 20 the call throws inside the task, which the runtime
// reports as a task error: Catch paths would then "pass" for the wrong
// reason. Import this module before the library.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
