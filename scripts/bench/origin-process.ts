// The blue and green demo origins in a process of their own, so their CPU time can be told apart from the load generator's.
import { startDemoOrigin } from "../demo-origin.ts";

const [bluePort, greenPort] = process.argv.slice(2).map(Number);
await Promise.all([startDemoOrigin("blue", bluePort), startDemoOrigin("green", greenPort)]);
process.send!("ready");
process.on("disconnect", () => process.exit(0));
