export type {
  DoctorAwsCredentials,
  DoctorCredentials,
  DoctorEntraCredentials,
  DoctorGcpCredentials,
  DoctorOptions,
  DoctorSourceCredentials,
  DoctorStaticCredentials,
  HostLookup,
} from "./doctor-options";
export type { DoctorReport } from "./doctor-report";
export type { DoctorStep, DoctorStepName } from "./doctor-step";
export { formatReport, type ReportHeading, reportJson } from "./format-report";
export { type Environment, type ParsedArgs, parseDoctorArgs } from "./parse-args";
export { type CliIo, runCli } from "./run-cli";
export { runDoctor } from "./run-doctor";
