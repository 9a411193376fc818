import { chromiumPath, hasBrowser } from './browser.js';

export default function setup(): void {
  if (!hasBrowser) process.stderr.write(`turnstate: no Chromium at ${chromiumPath} (apt-get install chromium); browser tests skipped\n`);
}
