import type { TestProject } from "vitest/node";
import { startDemoOrigin } from "../scripts/demo-origin.ts";

declare module "vitest" {
  interface ProvidedContext {
    blueOrigin: string;
    greenOrigin: string;
  }
}

/** Real HTTP origins for the worker under test: the same demo origins `npm start` runs. */
export default async function setup(project: TestProject) {
  const blue = await startDemoOrigin("blue");
  const green = await startDemoOrigin("green");
  project.provide("blueOrigin", blue.url);
  project.provide("greenOrigin", green.url);
  return async () => {
    await blue.close();
    await green.close();
  };
}
