/** The two versions; with two, the canary is always the colour that is not stable. */
export const COLOURS = ["blue", "green"] as const;
export type Colour = (typeof COLOURS)[number];

/** The colour that is not `colour`. */
export function otherColour(colour: Colour): Colour {
  return colour === "blue" ? "green" : "blue";
}
