// pm2 for production (CONTRACT §1): the API and the job workers as two apps, running the compiled
// build (`npm ci && npm run build` first: docs/deployment.md).
// - city-api runs in fork mode: it is its own cluster primary (sticky Socket.IO routing must stay
//   in our primary, which forks WEB_CONCURRENCY workers). It applies migrations at start-up.
//   CITY_JOBS=off keeps it from starting the job workers, which are their own app here.
// - city-jobs runs the BullMQ workers (Second Me, the presence sweep).
// kill_timeout leaves room for the graceful drain (sockets told to reconnect, requests and jobs
// finished) before pm2 sends SIGKILL.
const path = require("node:path");

const logs = process.env.CITY_LOG_DIR || path.join(__dirname, "logs");
// pm2 starts node itself (interpreter "none"): our primary must be a plain process to own its
// cluster, not a child of pm2's fork container.
const common = {
  cwd: __dirname,
  script: process.execPath,
  interpreter: "none",
  exec_mode: "fork",
  instances: 1,
  autorestart: true,
  max_restarts: 20,
  min_uptime: "10s",
  merge_logs: true,
  time: false, // our logs are JSON lines with their own timestamps
};

module.exports = {
  apps: [
    {
      ...common,
      name: "city-api",
      args: ["dist/src/main.js"],
      kill_timeout: 30000,
      out_file: path.join(logs, "city-api.out.log"),
      error_file: path.join(logs, "city-api.err.log"),
      env: { NODE_ENV: "production", CITY_JOBS: "off" },
    },
    {
      ...common,
      name: "city-jobs",
      args: ["dist/workers/main.js"],
      kill_timeout: 35000,
      out_file: path.join(logs, "city-jobs.out.log"),
      error_file: path.join(logs, "city-jobs.err.log"),
      env: { NODE_ENV: "production" },
    },
  ],
};
