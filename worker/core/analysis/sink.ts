/** The name of the one analysis object of a deployment: every edge isolate's health batches meet there. */
export const ANALYSIS_NAME = "edge-canary";
